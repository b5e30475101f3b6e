/**
 * The dense-retrieval baseline DSI papers compare against: a dual encoder. The same ViT encoder
 * (same size, same images, the same optimiser keys) is trained from scratch so that images that
 * share a class lie close together: train.dense_objective (loss.ts: supervised contrastive, or a
 * cosine classifier) over each batch of
 * indexed images and TRAIN queries (never val or test), on mean-pooled, L2-normalised patch
 * embeddings. Retrieval ranks the indexed images by cosine similarity (src/eval/rankers.ts).
 *
 * The weights are stored as a `dense` checkpoint of the run (the full model's variables; only the
 * encoder's are trained), after the DSI phases. After every epoch but the last the whole training
 * state (both optimisers, the Rng, the epoch) goes to a `dense-partial` checkpoint, so an
 * interrupted dense stage (at DB 2048 it takes over an hour here) resumes at its last epoch and
 * ends with the same weights as an uninterrupted one; the partial checkpoint goes once `dense` is
 * written. train.workers threads share each batch (parallel.ts); the result depends on the worker
 * count (dropout is seeded per shard), as for the DSI engine.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DsiConfig } from '../../config/schema.ts';
import { imagePixels, type Corpus } from '../../data/types.ts';
import { shownPath, type Log } from '../../runtime/log.ts';
import { progressBar } from '../../runtime/progress.ts';
import { Rng } from '../../runtime/rng.ts';
import { checkpointMismatches, loadCheckpoint, modelShapeOf, saveCheckpoint, type LoadedCheckpoint } from '../../runs/checkpoint.ts';
import { augmentImage, augmentOptionsOf, mixSeed } from '../augment.ts';
import { initialTrainerState } from '../phases.ts';
import { isConstant, learningRateAt } from '../schedule.ts';
import { createDenseEngine, type DenseBatch } from './engine.ts';

export interface DenseTrainOptions {
  config: DsiConfig;
  corpus: Corpus;
  runName: string;
  backend: string;
  checkpointsDir: string;
  log: Log;
  signal?: AbortSignal;
}

/** The in-progress dense training's checkpoint (see the header). */
const PARTIAL = 'dense-partial';

/** Trains the dual encoder for train.dense_epochs epochs and saves it as the run's `dense` checkpoint. */
export async function trainDense(opts: DenseTrainOptions): Promise<{ completed: boolean; loss: number }> {
  const { config, corpus, log } = opts;
  const train = config.train;
  const shape = modelShapeOf(corpus);
  const engine = await createDenseEngine({ model: config.model, train, shape, backend: opts.backend, classes: corpus.classNames.length });
  const rng = new Rng((train.seed ^ 0xde75e) >>> 0);
  const augment = augmentOptionsOf(train);
  const rows = corpus.records.filter((r) => r.role === 'indexed' || r.role === 'train').map((r) => r.row);
  const size = corpus.imageSize;
  const per = size * size * 3;
  const schedule = { base: train.learning_rate, schedule: train.lr_schedule, warmupSteps: train.warmup_steps, phaseEpochs: train.dense_epochs };
  const stepsPerEpoch = Math.ceil(rows.length / train.batch_size);
  const classIndex = new Map(corpus.classNames.map((name, i) => [name, i]));
  let loss = Number.NaN;
  let firstEpoch = 0;
  try {
    log(`dense dual encoder: ${train.dense_epochs} epochs of ${rows.length} images, ${engine.workers} worker thread(s)`);
    const partial = await resumableState(opts);
    if (partial) {
      await engine.restore(partial.engine);
      rng.setState(partial.trainer.rngState);
      firstEpoch = partial.trainer.epoch;
      log(`dense dual encoder: resuming after epoch ${firstEpoch} of ${train.dense_epochs} (step ${partial.engine.step})`);
    }
    const savePartial = async (epochsDone: number) => {
      const trainer = { ...initialTrainerState(train.seed), phase: 'done' as const, epoch: epochsDone, step: engine.steps, rngState: rng.getState() };
      await saveCheckpoint(opts.runName, PARTIAL, { config, corpusHash: corpus.hash, shape, backend: opts.backend, engine: await engine.state(), trainer }, opts.checkpointsDir);
    };
    for (let epoch = firstEpoch; epoch < train.dense_epochs; epoch++) {
      const order = rng.shuffle([...rows]);
      const bar = progressBar(`dense ${epoch + 1}/${train.dense_epochs}`, order.length, 'img');
      let lossSum = 0;
      for (let start = 0; start < order.length; start += train.batch_size) {
        if (opts.signal?.aborted) return { completed: false, loss };
        const rowsOfBatch = order.slice(start, start + train.batch_size);
        const classCount = corpus.classNames.length;
        const batch: DenseBatch = {
          pixels: new Float32Array(rowsOfBatch.length * per),
          count: rowsOfBatch.length,
          positives: new Float32Array(rowsOfBatch.length ** 2),
          targets: new Float32Array(rowsOfBatch.length * classCount),
        };
        rowsOfBatch.forEach((row, i) => {
          const src = imagePixels(corpus, row);
          batch.pixels.set(augment ? augmentImage(src, size, mixSeed(train.seed, 0xde75e, epoch, row), augment) : src, i * per);
          const classes = corpus.records[row].classes;
          for (const c of classes) batch.targets[i * classCount + classIndex.get(c)!] = 1 / classes.length;
          rowsOfBatch.forEach((other, j) => {
            if (i !== j && corpus.records[other].classes.some((c) => classes.includes(c))) batch.positives[i * rowsOfBatch.length + j] = 1;
          });
        });
        const seed = rng.seed();
        const rate = isConstant(schedule) ? undefined : learningRateAt(schedule, engine.steps, epoch + (start / train.batch_size) / stepsPerEpoch);
        lossSum += (await engine.step(batch, seed, rate)) * rowsOfBatch.length;
        bar.tick(rowsOfBatch.length, { loss: (lossSum / (start + rowsOfBatch.length)).toFixed(4) });
      }
      bar.stop();
      loss = lossSum / order.length;
      if (!Number.isFinite(loss)) throw new Error(`dense training diverged at epoch ${epoch + 1} (loss ${loss})`);
      if (epoch + 1 < train.dense_epochs) await savePartial(epoch + 1);
    }
    log(`dense dual encoder: ${train.dense_epochs} epochs, final ${train.dense_objective} loss ${loss.toFixed(4)}`);
    const step = engine.steps;
    const trainer = { ...initialTrainerState(train.seed), phase: 'done' as const, step };
    await saveCheckpoint(
      opts.runName,
      'dense',
      { config, corpusHash: corpus.hash, shape, backend: opts.backend, engine: { weights: await engine.weights(), optimizer: [], step }, trainer },
      opts.checkpointsDir,
    );
    await rm(join(opts.checkpointsDir, opts.runName, PARTIAL), { recursive: true, force: true });
    return { completed: true, loss };
  } finally {
    await engine.dispose();
  }
}

/**
 * The run's dense-partial checkpoint when it continues this very training. A partial stage trained
 * with other settings (e.g. `--set train.dense_epochs=N` changes the learning-rate schedule) or on
 * other data is set aside with a line saying why, and the stage starts over; a damaged one stops
 * with the loader's error naming the file.
 */
async function resumableState(opts: DenseTrainOptions): Promise<LoadedCheckpoint | null> {
  const dir = join(opts.checkpointsDir, opts.runName, PARTIAL);
  if (!existsSync(join(dir, 'checkpoint.json')) && !existsSync(join(opts.checkpointsDir, opts.runName, `.old-${PARTIAL}`, 'checkpoint.json'))) return null;
  const ckpt = await loadCheckpoint(opts.runName, PARTIAL, opts.checkpointsDir);
  const why = checkpointMismatches(ckpt, opts.config, opts.corpus.hash, modelShapeOf(opts.corpus));
  const [was, now] = [ckpt.config.train as unknown as Record<string, unknown>, opts.config.train as unknown as Record<string, unknown>];
  for (const key of new Set([...Object.keys(was), ...Object.keys(now)])) {
    if (JSON.stringify(was[key]) !== JSON.stringify(now[key])) why.push(`train.${key}: partial ${JSON.stringify(was[key])}, now ${JSON.stringify(now[key])}`);
  }
  if (why.length === 0) return ckpt;
  opts.log(`dense dual encoder: starting over; the partial stage in ${shownPath(dir)} was trained with other settings (${why.join('; ')})`);
  return null;
}
