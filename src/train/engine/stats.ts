/** Sums and means of StepStats: shards add up to a batch, batches to an epoch. */
import type { StepStats } from './engine.ts';

/** Means over an epoch (or a validation pass) from summed step stats. */
export interface EpochStats {
  loss: number;
  tokenAccuracy: number;
  idAccuracy: number;
}

export function emptyStats(): StepStats {
  return { lossSum: 0, tokens: 0, tokenCorrect: 0, ids: 0, idCorrect: 0 };
}

/** Adds `s` into `into` (and returns it), so a reduce over shards or batches needs no copies. */
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
