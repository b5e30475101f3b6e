/**
 * The dense-retrieval baseline DSI papers compare against: a dual encoder. The same ViT encoder
 * (same size, same images, the same optimiser keys) is trained from scratch so that images that
 * share a class lie close together: a supervised contrastive loss (Khosla et al. 2020) over each
 * batch of indexed images and TRAIN queries (never val or test), on mean-pooled, L2-normalised
 * patch embeddings. Retrieval ranks the indexed images by cosine similarity (src/eval/rankers.ts).
 *
 * The weights are stored as a `dense` checkpoint of the run (the full model's variables; only the
 * encoder's are trained), after the DSI phases. It is a baseline, not resumable: an interrupted
 * dense stage starts over.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DsiConfig } from '../config/schema.ts';
import { imagePixels, type Corpus } from '../data/types.ts';
import { createDsiModel, exportWeights } from '../model/dsi-model.ts';
import { imageEmbedding } from '../model/embedding.ts';
import { ensureGradients } from '../runtime/gradients.ts';
import type { Log } from '../runtime/log.ts';
import { progressBar } from '../runtime/progress.ts';
import { Rng } from '../runtime/rng.ts';
import { modelShapeOf, saveCheckpoint } from '../runs/checkpoint.ts';
import { augmentImage, augmentOptionsOf, mixSeed } from './augment.ts';
import { Adam } from './engine/adam.ts';
import { initialTrainerState } from './phases.ts';
import { isConstant, learningRateAt } from './schedule.ts';

/**
 * Supervised contrastive loss of one batch: every image is an anchor; its positives are the other
 * images of the batch that share a class; the softmax is over every other image.
 */
export function supervisedContrastiveLoss(embeddings: tf.Tensor2D, positives: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const n = embeddings.shape[0];
    const self = tf.eye(n);
    const logits = tf.sub(tf.div(tf.matMul(embeddings, embeddings, false, true), temperature), tf.mul(self, 1e9));
    const logProbs = tf.logSoftmax(logits, 1);
    const counts = tf.sum(positives, 1);
    const perAnchor = tf.div(tf.neg(tf.sum(tf.mul(positives, logProbs), 1)), tf.maximum(counts, 1));
    const anchors = tf.cast(tf.greater(counts, 0), 'float32');
    return tf.div(tf.sum(tf.mul(perAnchor, anchors)), tf.maximum(tf.sum(anchors), 1)) as tf.Scalar;
  });
}

export interface DenseTrainOptions {
  config: DsiConfig;
  corpus: Corpus;
  runName: string;
  backend: string;
  checkpointsDir: string;
  log: Log;
  signal?: AbortSignal;
}

/** Trains the dual encoder for train.dense_epochs epochs and saves it as the run's `dense` checkpoint. */
export async function trainDense(opts: DenseTrainOptions): Promise<{ completed: boolean; loss: number }> {
  const { config, corpus, log } = opts;
  const train = config.train;
  await ensureGradients();
  const shape = modelShapeOf(corpus);
  const model = createDsiModel(config.model, shape, train.seed);
  const encoderVars = new Map([...model.variables].filter(([name]) => name.startsWith('encoder.')));
  const adam = new Adam(encoderVars, train.learning_rate, { weightDecay: train.weight_decay, clipNorm: train.grad_clip_norm });
  const rng = new Rng((train.seed ^ 0xde75e) >>> 0);
  const augment = augmentOptionsOf(train);
  const rows = corpus.records.filter((r) => r.role === 'indexed' || r.role === 'train').map((r) => r.row);
  const size = corpus.imageSize;
  const per = size * size * 3;
  const schedule = { base: train.learning_rate, schedule: train.lr_schedule, warmupSteps: train.warmup_steps, phaseEpochs: train.dense_epochs };
  const stepsPerEpoch = Math.ceil(rows.length / train.batch_size);
  let step = 0;
  let loss = Number.NaN;
  try {
    for (let epoch = 0; epoch < train.dense_epochs; epoch++) {
      const order = rng.shuffle([...rows]);
      const bar = progressBar(`dense ${epoch + 1}/${train.dense_epochs}`, order.length, 'img');
      let lossSum = 0;
      for (let start = 0; start < order.length; start += train.batch_size) {
        if (opts.signal?.aborted) return { completed: false, loss };
        const batch = order.slice(start, start + train.batch_size);
        const pixels = new Float32Array(batch.length * per);
        batch.forEach((row, i) => {
          const src = imagePixels(corpus, row);
          pixels.set(augment ? augmentImage(src, size, mixSeed(train.seed, 0xde75e, epoch, row), augment) : src, i * per);
        });
        const positives = tf.tensor2d(
          batch.flatMap((a, i) => batch.map((b, j) => (i !== j && corpus.records[a].classes.some((c) => corpus.records[b].classes.includes(c)) ? 1 : 0))),
          [batch.length, batch.length],
        );
        const images = tf.tensor4d(pixels, [batch.length, size, size, 3]);
        const seed = rng.seed();
        const { value, grads } = tf.variableGrads(
          () => supervisedContrastiveLoss(imageEmbedding(model, images, true, seed), positives, train.dense_temperature),
          [...encoderVars.values()],
        );
        const byName = new Map([...encoderVars].map(([name, v]) => [name, grads[v.name]]));
        const rate = isConstant(schedule) ? undefined : learningRateAt(schedule, step, epoch + (start / train.batch_size) / stepsPerEpoch);
        adam.apply(byName, rate);
        lossSum += (await value.data())[0] * batch.length;
        tf.dispose([value, images, positives, ...Object.values(grads)]);
        step++;
        bar.tick(batch.length, { loss: (lossSum / (start + batch.length)).toFixed(4) });
      }
      bar.stop();
      loss = lossSum / order.length;
      if (!Number.isFinite(loss)) throw new Error(`dense training diverged at epoch ${epoch + 1} (loss ${loss})`);
    }
    log(`dense dual encoder: ${train.dense_epochs} epochs, final contrastive loss ${loss.toFixed(4)}`);
    const trainer = { ...initialTrainerState(train.seed), phase: 'done' as const, step };
    await saveCheckpoint(
      opts.runName,
      'dense',
      { config, corpusHash: corpus.hash, shape, backend: opts.backend, engine: { weights: await exportWeights(model.variables), optimizer: [], step }, trainer },
      opts.checkpointsDir,
    );
    return { completed: true, loss };
  } finally {
    adam.dispose();
    model.dispose();
  }
}
