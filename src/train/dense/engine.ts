/**
 * The dense baseline's training step (one batch: loss, encoder gradients, AdamW update), on this
 * thread or split across worker threads (parallel.ts), chosen by train.workers like the DSI
 * engine (src/train/engine/engine.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ensureGradients } from '../../runtime/gradients.ts';
import { exportWeights } from '../../model/dsi-model.ts';
import type { EngineState, NamedArray } from '../../types.ts';
import { resolveWorkerCount } from '../engine/engine.ts';
import { Adam } from '../engine/adam.ts';
import { assignByName, DenseLearner, type DenseEngineOptions } from './learner.ts';
import { createObjective, type DenseBatchTensors } from './loss.ts';

export type { DenseEngineOptions } from './learner.ts';

export interface DenseBatch {
  /** count x S x S x 3 pixel values (0..255), augmented already. */
  pixels: Float32Array;
  count: number;
  /** count x count: 1 where two different images share a class. */
  positives: Float32Array;
  /** count x classes: each image's classes' shares (the classifier objective's targets). */
  targets: Float32Array;
}

export interface DenseEngine {
  readonly workers: number;
  /** One update; returns the batch's contrastive loss. `seed` drives dropout. */
  step(batch: DenseBatch, seed: number, learningRate?: number): Promise<number>;
  /** The whole model's weights (only the encoder's trained), for the `dense` checkpoint. */
  weights(): Promise<NamedArray[]>;
  /**
   * Everything a resumed training needs to continue bit for bit: the model's and the objective's
   * variables, both optimisers' moments, the step count (the dense-partial checkpoint).
   */
  state(): Promise<EngineState>;
  restore(state: EngineState): Promise<void>;
  /** Optimisation steps taken. */
  readonly steps: number;
  dispose(): Promise<void>;
}

export async function createDenseEngine(opts: DenseEngineOptions): Promise<DenseEngine> {
  await ensureGradients();
  const { availableParallelism } = await import('node:os');
  const workers = resolveWorkerCount(opts, availableParallelism());
  if (workers > 1) {
    const { createParallelDenseEngine } = await import('./parallel.ts');
    return createParallelDenseEngine(opts, workers);
  }
  return createSingleDenseEngine(opts);
}

/** The batch's objective tensors (dispose them after the step). */
export function batchTensors(batch: DenseBatch): DenseBatchTensors {
  return {
    positives: tf.tensor2d(batch.positives, [batch.count, batch.count]),
    targets: tf.tensor2d(batch.targets, [batch.count, batch.targets.length / batch.count]),
  };
}

/**
 * The objective with its own optimiser: the classifier's class vectors are trained beside the
 * encoder (same rate, decay and clipping, clipped by their own norm) wherever the loss is formed.
 */
export function objectiveWithOptimizer(opts: DenseEngineOptions) {
  const objective = createObjective(opts.train, opts.classes, opts.model.embed_dim);
  const adam = new Adam(objective.variables, opts.train.learning_rate, { weightDecay: opts.train.weight_decay, clipNorm: opts.train.grad_clip_norm });
  return {
    objective,
    apply: (grads: ReadonlyMap<string, tf.Tensor>, learningRate?: number) => {
      if (objective.variables.size > 0) adam.apply(grads, learningRate);
    },
    /** The objective's variables and moments, named apart from the encoder's ("dense.*"). */
    state: async () => ({ weights: await exportWeights(objective.variables), optimizer: await adam.getState() }),
    restore: (state: EngineState) => {
      assignByName(objective.variables, state.weights, 'dense objective');
      if (objective.variables.size > 0) adam.setState(state.optimizer, state.step);
    },
    dispose: () => {
      adam.dispose();
      objective.dispose();
    },
  };
}

/** All work on the calling thread: the batch's loss differentiated end to end. */
export function createSingleDenseEngine(opts: DenseEngineOptions): DenseEngine {
  const learner = DenseLearner.create(opts);
  const head = objectiveWithOptimizer(opts);
  const size = opts.shape.imageSize;
  return {
    workers: 1,
    async step(batch, seed, learningRate) {
      const images = tf.tensor4d(batch.pixels, [batch.count, size, size, 3]);
      const tensors = batchTensors(batch);
      const { loss, grads, extraGrads } = learner.lossGradients(images, seed, (e) => head.objective.loss(e, tensors), head.objective.variables);
      learner.apply(grads, learningRate);
      head.apply(extraGrads, learningRate);
      const value = (await loss.data())[0];
      tf.dispose([loss, images, tensors.positives, tensors.targets, ...grads.values(), ...extraGrads.values()]);
      return value;
    },
    weights: () => learner.weights(),
    state: async () => mergeStates(await learner.state(), await head.state()),
    async restore(state) {
      learner.restore(state);
      head.restore(state);
    },
    get steps() {
      return learner.step;
    },
    async dispose() {
      learner.dispose();
      head.dispose();
    },
  };
}

/** The encoder's state and the objective's in one EngineState (their names do not overlap). */
export function mergeStates(encoder: EngineState, objective: Pick<EngineState, 'weights' | 'optimizer'>): EngineState {
  return { weights: [...encoder.weights, ...objective.weights], optimizer: [...encoder.optimizer, ...objective.optimizer], step: encoder.step };
}
