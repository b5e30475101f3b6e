/**
 * One copy of the model that turns a TrainBatch into gradients and statistics. The single-thread
 * engine's Learner owns one; so does each worker thread of the data-parallel engine.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../../config/sections/model.ts';
import { BEGIN, PAD } from '../../data/ids.ts';
import { createDsiModel } from '../../model/dsi-model.ts';
import { tokenCrossEntropy } from '../../model/loss.ts';
import type { DsiModel } from '../../model/types.ts';
import type { ModelShape } from '../../types.ts';
import type { StepStats, TrainBatch } from './engine.ts';

/** Non-PAD target tokens of a batch (the loss normaliser). */
export function countTargetTokens(batch: TrainBatch): number {
  let n = 0;
  for (const token of batch.targets) if (token !== PAD) n++;
  return n;
}

export function checkBatch(batch: TrainBatch, shape: ModelShape): void {
  const len = shape.idLength + 1;
  const pixels = shape.imageSize * shape.imageSize * 3;
  if (batch.images.length !== batch.imageCount * pixels) {
    throw new Error(`batch has ${batch.images.length} pixel values, expected ${batch.imageCount} x ${shape.imageSize}x${shape.imageSize}x3`);
  }
  if (batch.targets.length !== batch.targetCount * len) {
    throw new Error(`batch has ${batch.targets.length} target tokens, expected ${batch.targetCount} x ${len}`);
  }
  if (batch.targetImage.length !== batch.targetCount) throw new Error('batch.targetImage must have one entry per target');
  for (const i of batch.targetImage) {
    if (i < 0 || i >= batch.imageCount) throw new Error(`batch.targetImage points at image ${i} of ${batch.imageCount}`);
  }
}

interface BatchTensors {
  images: tf.Tensor4D;
  decoderInput: tf.Tensor2D;
  targets: tf.Tensor2D;
  /** null when target i belongs to image i (indexing): no gather needed. */
  memoryIndex: Int32Array | null;
}

function toTensors(batch: TrainBatch, shape: ModelShape): BatchTensors {
  const s = shape.imageSize;
  const len = shape.idLength + 1;
  const decoderInput = new Int32Array(batch.targets.length);
  for (let r = 0; r < batch.targetCount; r++) {
    decoderInput[r * len] = BEGIN;
    for (let t = 1; t < len; t++) decoderInput[r * len + t] = batch.targets[r * len + t - 1];
  }
  let identity = batch.targetCount === batch.imageCount;
  for (let i = 0; identity && i < batch.targetCount; i++) identity = batch.targetImage[i] === i;
  return {
    // tfjs has no uint8 dtype; the model normalises the 0..255 floats itself.
    images: tf.tensor4d(Float32Array.from(batch.images), [batch.imageCount, s, s, 3]),
    decoderInput: tf.tensor2d(decoderInput, [batch.targetCount, len], 'int32'),
    targets: tf.tensor2d(batch.targets, [batch.targetCount, len], 'int32'),
    memoryIndex: identity ? null : batch.targetImage,
  };
}

function disposeTensors(t: BatchTensors): void {
  tf.dispose([t.images, t.decoderInput, t.targets]);
}

async function readStats(lossSum: tf.Scalar, counts: tf.Tensor1D): Promise<StepStats> {
  const [loss] = await lossSum.data();
  const [tokens, tokenCorrect, ids, idCorrect] = await counts.data();
  return { lossSum: loss, tokens, tokenCorrect, ids, idCorrect };
}

export class Replica {
  /** `labelSmoothing` applies to training gradients only; evaluation is plain cross-entropy. */
  constructor(readonly model: DsiModel, private readonly labelSmoothing = 0) {}

  static create(config: ModelConfig, shape: ModelShape, seed: number, labelSmoothing = 0): Replica {
    return new Replica(createDsiModel(config, shape, seed), labelSmoothing);
  }

  /**
   * Gradients of lossSum / normaliser. With normaliser = the FULL batch's token count, the
   * shards' gradients add up to exactly the full-batch mean-loss gradient.
   */
  async gradients(batch: TrainBatch, seed: number, normaliser: number): Promise<{ grads: Map<string, tf.Tensor>; stats: StepStats }> {
    const t = toTensors(batch, this.model.shape);
    const varList = [...this.model.variables.values()];
    let lossSum: tf.Scalar | null = null;
    let counts: tf.Tensor1D | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const logits = this.model.forward(t.images, t.decoderInput, t.memoryIndex, { training: true, seed });
      const out = tokenCrossEntropy(logits, t.targets, this.labelSmoothing);
      lossSum = tf.keep(out.lossSum);
      counts = tf.keep(out.counts);
      return tf.div(out.lossSum, Math.max(1, normaliser)) as tf.Scalar;
    }, varList);
    value.dispose();
    disposeTensors(t);
    const stats = await readStats(lossSum!, counts!);
    tf.dispose([lossSum!, counts!]);
    const byName = new Map<string, tf.Tensor>();
    for (const [name, v] of this.model.variables) byName.set(name, grads[v.name]);
    return { grads: byName, stats };
  }

  async evaluate(batch: TrainBatch): Promise<StepStats> {
    const t = toTensors(batch, this.model.shape);
    const [lossSum, counts] = tf.tidy(() => {
      const logits = this.model.forward(t.images, t.decoderInput, t.memoryIndex, { training: false });
      const out = tokenCrossEntropy(logits, t.targets);
      return [out.lossSum, out.counts] as [tf.Scalar, tf.Tensor1D];
    });
    disposeTensors(t);
    const stats = await readStats(lossSum, counts);
    tf.dispose([lossSum, counts]);
    return stats;
  }
}
