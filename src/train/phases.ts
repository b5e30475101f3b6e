/**
 * The trainer's resumable state and the two decisions that end or select epochs: early stopping
 * in phase 1 and best-validation selection in phase 2. Pure functions, so they are tested alone
 * and a resumed run makes exactly the decisions an uninterrupted one would.
 */
import type { StepStats } from '../model/types.ts';

export type TrainerPhase = 'indexing' | 'retrieval' | 'done';

/** Everything besides the engine state needed to continue a run exactly (trainer.json). */
export interface TrainerState {
  /** The phase the run continues in ('done' once both phases are over). */
  phase: TrainerPhase;
  /** Epochs completed in `phase`. */
  epoch: number;
  /** Optimizer steps completed over the whole run. */
  step: number;
  /** State of the Rng that drives shuffling, ID sampling and per-step dropout seeds. */
  rngState: number;
  /** Consecutive phase-1 epochs with exact-ID training accuracy >= train.early_stop_accuracy. */
  earlyStopStreak: number;
  /** Epochs phase 1 ran (set when it ends). */
  indexingEpochsRun: number | null;
  /** Exact-ID accuracy over all indexed images in eval mode after phase 1 (= greedy IA@1). */
  indexingAccuracy: number | null;
  /** Best (lowest) phase-2 validation loss so far and the phase-2 epoch (1-based) it came from. */
  bestValLoss: number | null;
  bestEpoch: number | null;
  /** Seconds spent in training and validation passes so far, across resumes. */
  wallTimeS: number;
}

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

/** Means over an epoch (or a validation pass) from summed step stats. */
export interface EpochStats {
  loss: number;
  tokenAccuracy: number;
  idAccuracy: number;
}

export function emptyStats(): StepStats {
  return { lossSum: 0, tokens: 0, tokenCorrect: 0, ids: 0, idCorrect: 0 };
}

export function addStats(into: StepStats, s: StepStats): StepStats {
  into.lossSum += s.lossSum;
  into.tokens += s.tokens;
  into.tokenCorrect += s.tokenCorrect;
  into.ids += s.ids;
  into.idCorrect += s.idCorrect;
  return into;
}

export function meanStats(s: StepStats): EpochStats {
  return {
    loss: s.tokens > 0 ? s.lossSum / s.tokens : Number.NaN,
    tokenAccuracy: s.tokens > 0 ? s.tokenCorrect / s.tokens : Number.NaN,
    idAccuracy: s.ids > 0 ? s.idCorrect / s.ids : Number.NaN,
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
