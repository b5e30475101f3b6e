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
    bestValP10: null,
    bestIa: null,
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

/** An epoch's retrieval quality on the val queries and its index (train.select_on=val_p10). */
export interface RetrievalScore {
  /** Mean P@10 over the val queries. */
  p10: number;
  /** IA@1 over the indexed images. */
  ia: number;
}

/**
 * Phase 2 model selection by retrieval with an index floor: an epoch at or above `minIa` beats
 * any below it; above the floor the higher P@10 wins; below it (no epoch has reached it yet) the
 * higher IA@1 wins, then the higher P@10, so a run that never keeps its index still keeps the
 * model that forgot least. Exact ties keep the earlier epoch.
 */
export function isBetterRetrieval(candidate: RetrievalScore, best: RetrievalScore | null, minIa: number): boolean {
  if (!Number.isFinite(candidate.p10) || !Number.isFinite(candidate.ia)) return false;
  if (best === null) return true;
  const [above, bestAbove] = [candidate.ia >= minIa, best.ia >= minIa];
  if (above !== bestAbove) return above;
  if (above) return candidate.p10 > best.p10;
  return candidate.ia > best.ia || (candidate.ia === best.ia && candidate.p10 > best.p10);
}

/** The kept epoch's score from a trainer state (null before one, or in a val-loss-selected run). */
export function bestRetrievalOf(state: TrainerState): RetrievalScore | null {
  return state.bestValP10 != null && state.bestIa != null ? { p10: state.bestValP10, ia: state.bestIa } : null;
}

/**
 * Phase 2 stops early once the kept epoch (by val loss, or by val P@10 with an IA floor) is
 * `patience` epochs old: the kept checkpoint is the same either way, so the remaining epochs would only cost time
 * (on imagenette.yaml val loss bottomed out at epoch 13 of 75). Derived from the saved best epoch,
 * so a resumed run stops where an uninterrupted one would. patience 0 never stops early.
 */
export function retrievalPatienceExhausted(epoch: number, bestEpoch: number | null, patience: number): boolean {
  return patience > 0 && bestEpoch !== null && epoch - bestEpoch >= patience;
}
