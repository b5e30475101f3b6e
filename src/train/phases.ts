/**
 * The trainer's starting state (TrainerState, in src/types.ts, is what a checkpoint holds of the
 * loop) and the decisions that end or select epochs: early stopping in phase 1, best-validation
 * selection and patience in phase 2. Pure functions, so they are tested alone and a resumed run
 * makes exactly the decisions an uninterrupted one would.
 */
import type { TrainerState } from '../types.ts';

export function initialTrainerState(seed: number): TrainerState {
  return {
    phase: 'indexing',
    epoch: 0,
    step: 0,
    rngState: seed >>> 0,
    earlyStopStreak: 0,
    indexingEpochsRun: null,
    indexingAccuracy: null,
    bestValLoss: null,
    bestEpoch: null,
    wallTimeS: 0,
  };
}

/**
 * Phase 1 early stopping on exact-ID TRAINING accuracy (measured during the epoch's steps, with
 * dropout on, as the reference does): the streak counts consecutive epochs at or above the
 * threshold, and the phase stops once it reaches `patience`.
 */
export function updateEarlyStop(streak: number, idAccuracy: number, threshold: number, patience: number): { streak: number; stop: boolean } {
  const next = idAccuracy >= threshold ? streak + 1 : 0;
  return { streak: next, stop: next >= patience };
}

/** Phase 2 model selection: strictly lower validation loss wins (ties keep the earlier epoch). */
export function isBetterValLoss(valLoss: number, best: number | null): boolean {
  return Number.isFinite(valLoss) && (best === null || valLoss < best);
}

/**
 * Phase 2 stops early once validation loss has not improved for `patience` epochs: the kept
 * checkpoint is the best-val one either way, so the remaining epochs would only cost time
 * (on imagenette.yaml val loss bottomed out at epoch 13 of 75). Derived from the saved best epoch,
 * so a resumed run stops where an uninterrupted one would. patience 0 never stops early.
 */
export function retrievalPatienceExhausted(epoch: number, bestEpoch: number | null, patience: number): boolean {
  return patience > 0 && bestEpoch !== null && epoch - bestEpoch >= patience;
}
