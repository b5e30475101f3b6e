/**
 * One pass over a list of batch items: training (with a progress bar and per-step dropout seeds
 * from the trainer's Rng) or evaluation (no dropout, no update).
 */
import type { Corpus } from '../data/types.ts';
import type { StepStats, TrainingEngine } from '../model/types.ts';
import { progressBar } from '../runtime/progress.ts';
import type { Rng } from '../runtime/rng.ts';
import { batchCount, batchesOf, type BatchItem } from './batches.ts';
import { addStats, emptyStats, meanStats } from './phases.ts';

export interface EpochRun {
  stats: StepStats;
  steps: number;
  seconds: number;
  /** Images seen (phase 2 images carry several targets, so this is not stats.ids). */
  images: number;
}

/**
 * Train on `items` in batches of `batchSize`. Returns null when `signal` aborts mid-epoch: the
 * partial epoch is thrown away (the last checkpoint is the epoch before), which keeps resume exact.
 */
export async function trainEpoch(
  engine: TrainingEngine,
  corpus: Corpus,
  items: readonly BatchItem[],
  batchSize: number,
  rng: Rng,
  label: string,
  signal?: AbortSignal,
  learningRate?: number,
): Promise<EpochRun | null> {
  const started = performance.now();
  const stats = emptyStats();
  const bar = progressBar(label, items.length, 'img');
  let steps = 0;
  try {
    for (const batch of batchesOf(corpus, items, batchSize)) {
      if (signal?.aborted) return null;
      // Drawn per step from the checkpointed stream, so dropout masks repeat exactly on resume.
      const seed = rng.seed();
      addStats(stats, await engine.trainStep(batch, seed, learningRate));
      steps++;
      const m = meanStats(stats);
      bar.tick(batch.imageCount, { loss: m.loss.toFixed(4), tok: m.tokenAccuracy.toFixed(3), id: m.idAccuracy.toFixed(3) });
    }
  } finally {
    bar.stop();
  }
  if (signal?.aborted) return null;
  return { stats, steps, seconds: (performance.now() - started) / 1000, images: items.length };
}

/** Forward-only pass (validation loss, or exact-ID accuracy of the indexed images). */
export async function evaluateItems(engine: TrainingEngine, corpus: Corpus, items: readonly BatchItem[], batchSize: number): Promise<StepStats> {
  const stats = emptyStats();
  if (batchCount(items, batchSize) === 0) return stats;
  for (const batch of batchesOf(corpus, items, batchSize)) addStats(stats, await engine.evaluate(batch));
  return stats;
}
