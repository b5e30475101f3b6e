/**
 * One epoch of training, and the per-epoch book-keeping around it: the optimisation steps over a
 * list of batch items (with the per-step learning rate and the dropout seeds drawn from the
 * run's Rng), the forward-only passes (validation loss, exact-ID accuracy), and the metrics row
 * each epoch leaves. The loop that calls these is in train.ts.
 */
import type { Progress } from '../runtime/progress.ts';
import { UserError } from '../runtime/errors.ts';
import type { Log } from '../runtime/log.ts';
import { Rng } from '../runtime/rng.ts';
import type { EpochMetrics } from '../track/types.ts';
import type { Corpus, TrainerState } from '../types.ts';
import { batchCount, batchesOf, type BatchItem, type ItemPixels } from './batches.ts';
import type { StepStats, TrainingEngine } from './engine/engine.ts';
import { addStats, emptyStats, meanStats } from './engine/stats.ts';

/** The plain line of one epoch (a log file's record of the phase bar). */
export function epochLine(row: EpochMetrics, maxEpochs: number): string {
  return (
    `${row.phase} epoch ${row.epoch}/${maxEpochs}: loss ${row.loss.toFixed(4)} tok ${row.token_accuracy.toFixed(3)} id ${row.id_accuracy.toFixed(3)}` +
    // The early stop reads the clean index (train.early_stop_measure=clean), so a log shows it too.
    (row.clean_id_accuracy === undefined ? '' : ` clean id ${row.clean_id_accuracy.toFixed(3)}`) +
    ` (${row.images_per_sec.toFixed(1)} img/s, ${row.wall_time_s.toFixed(1)} s so far)`
  );
}

/** Book-keeping after a training epoch; refuses to go on from a diverged model. */
export function finishEpoch(state: TrainerState, phase: 'indexing' | 'retrieval', run: EpochRun, learningRate: number): EpochMetrics {
  state.epoch++;
  state.step += run.steps;
  state.wallTimeS += run.seconds;
  const m = meanStats(run.stats);
  if (!Number.isFinite(m.loss)) {
    throw new UserError(`training diverged: ${phase} epoch ${state.epoch} has loss ${m.loss}; lower train.${phase === 'retrieval' ? 'retrieval_learning_rate' : 'learning_rate'} (now ${learningRate})`);
  }
  return {
    phase,
    epoch: state.epoch,
    loss: m.loss,
    token_accuracy: m.tokenAccuracy,
    id_accuracy: m.idAccuracy,
    learning_rate: learningRate,
    images_per_sec: run.images / Math.max(run.seconds, 1e-9),
    wall_time_s: state.wallTimeS,
  };
}

/** Val loss and accuracies of this epoch, or null without val queries. */
export async function validate(
  engine: TrainingEngine,
  corpus: Corpus,
  items: BatchItem[],
  batchSize: number,
  state: TrainerState,
): Promise<{ val_loss: number; val_token_accuracy: number; val_id_accuracy: number } | null> {
  if (items.length === 0) return null;
  const started = performance.now();
  const m = meanStats(await evaluateItems(engine, corpus, items, batchSize));
  state.wallTimeS += (performance.now() - started) / 1000;
  return { val_loss: m.loss, val_token_accuracy: m.tokenAccuracy, val_id_accuracy: m.idAccuracy };
}

/**
 * Phase 1 is over: measure exact-ID accuracy of every indexed image in eval mode (no dropout;
 * teacher-forced all-correct is the same as greedy decoding being right, i.e. greedy IA@1), then
 * move the state to phase 2.
 */
export async function endIndexing(engine: TrainingEngine, corpus: Corpus, state: TrainerState, batchSize: number, log: Log) {
  const accuracy = await indexAccuracy(engine, corpus, batchSize);
  state.indexingEpochsRun = state.epoch;
  state.indexingAccuracy = accuracy;
  log(`phase 1 done after ${state.epoch} epochs: exact-ID accuracy on the ${corpus.indexedRows.length} indexed images (eval mode, greedy) ${accuracy.toFixed(4)}`);
  state.phase = 'retrieval';
  state.epoch = 0;
  state.earlyStopStreak = 0;
}

/**
 * Greedy IA@1: exact-ID accuracy of every indexed image (un-augmented) in eval mode. Teacher-forced
 * "every digit is the argmax" is the same event as greedy decoding writing the image's own ID, and
 * costs one forward pass instead of a search.
 */
export async function indexAccuracy(engine: TrainingEngine, corpus: Corpus, batchSize: number): Promise<number> {
  const all = corpus.indexedRows.map((row, id) => ({ row, targetIds: [id] }));
  return meanStats(await evaluateItems(engine, corpus, all, batchSize)).idAccuracy;
}

/** The learning rate of step `i` (0-based) of an epoch of `steps` steps. */
export type StepRate = (i: number, steps: number) => number;

export interface EpochRun {
  /** The rate of the epoch's last step when a StepRate drove it. */
  lastRate?: number;
  stats: StepStats;
  steps: number;
  seconds: number;
  /** Images seen (phase 2 images carry several targets, so this is not stats.ids). */
  images: number;
}

/**
 * Train on `items` in batches of `batchSize`, advancing the phase's `bar`. Returns null when `signal` aborts mid-epoch: the
 * partial epoch is thrown away (the last checkpoint is the epoch before), which keeps resume exact.
 */
export async function trainEpoch(
  engine: TrainingEngine,
  corpus: Corpus,
  items: readonly BatchItem[],
  batchSize: number,
  rng: Rng,
  bar: Progress,
  signal?: AbortSignal,
  learningRate?: number | StepRate,
  pixelsOf?: ItemPixels,
): Promise<EpochRun | null> {
  const started = performance.now();
  const stats = emptyStats();
  const stepsInEpoch = batchCount(items, batchSize);
  let lastRate: number | undefined;
  let steps = 0;
  for (const batch of batchesOf(corpus, items, batchSize, pixelsOf)) {
    if (signal?.aborted) return null;
    // Drawn per step from the checkpointed stream, so dropout masks repeat exactly on resume.
    const seed = rng.seed();
    const rate = typeof learningRate === 'function' ? (lastRate = learningRate(steps, stepsInEpoch)) : learningRate;
    addStats(stats, await engine.trainStep(batch, seed, rate));
    steps++;
    const m = meanStats(stats);
    bar.tick(batch.imageCount, { loss: m.loss.toFixed(4), tok: m.tokenAccuracy.toFixed(3), id: m.idAccuracy.toFixed(3) });
  }
  if (signal?.aborted) return null;
  return { stats, steps, seconds: (performance.now() - started) / 1000, images: items.length, lastRate };
}

/** Forward-only pass (validation loss, or exact-ID accuracy of the indexed images). */
export async function evaluateItems(engine: TrainingEngine, corpus: Corpus, items: readonly BatchItem[], batchSize: number): Promise<StepStats> {
  const stats = emptyStats();
  if (batchCount(items, batchSize) === 0) return stats;
  for (const batch of batchesOf(corpus, items, batchSize)) addStats(stats, await engine.evaluate(batch));
  return stats;
}
