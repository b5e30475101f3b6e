/**
 * One dual-encoder replica and its optimiser: the DSI model's variables (so the dense checkpoint
 * loads like any other), of which only the encoder's are trained. The single-thread dense engine
 * owns one; every worker of the data-parallel dense engine owns another, built from the same seed.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../../config/sections/model.ts';
import type { TrainConfig } from '../../config/sections/train.ts';
import { createDsiModel, exportWeights } from '../../model/dsi-model.ts';
import { imageEmbedding } from '../../model/embedding.ts';
import type { DsiModel } from '../../model/types.ts';
import type { EngineState, ModelShape, NamedArray } from '../../types.ts';
import { Adam } from '../engine/adam.ts';

export interface DenseEngineOptions {
  model: ModelConfig;
  train: TrainConfig;
  shape: ModelShape;
  /** Resolved tfjs backend name. */
  backend: string;
  /** Classes of the corpus (the classifier objective has one vector per class). */
  classes: number;
}

export class DenseLearner {
  readonly encoderVariables: ReadonlyMap<string, tf.Variable>;
  private readonly adam: Adam;

  private constructor(private readonly model: DsiModel, train: TrainConfig) {
    this.encoderVariables = new Map([...model.variables].filter(([name]) => name.startsWith('encoder.')));
    this.adam = new Adam(this.encoderVariables, train.learning_rate, { weightDecay: train.weight_decay, clipNorm: train.grad_clip_norm });
  }

  static create(opts: DenseEngineOptions): DenseLearner {
    return new DenseLearner(createDsiModel(opts.model, opts.shape, opts.train.seed), opts.train);
  }

  get encoderNames(): string[] {
    return [...this.encoderVariables.keys()];
  }

  /** Training-mode embeddings (dropout from `seed`) of images [B, S, S, 3]. */
  embed(images: tf.Tensor4D, seed: number): tf.Tensor2D {
    return imageEmbedding(this.model, images, true, seed);
  }

  /**
   * Loss and gradients of one whole batch (the single-thread step): the encoder's by name, and
   * those of the objective's own variables (`extra`, e.g. the classifier's class vectors).
   */
  lossGradients(images: tf.Tensor4D, seed: number, lossOf: (embeddings: tf.Tensor2D) => tf.Scalar, extra: ReadonlyMap<string, tf.Variable>) {
    const { value, grads } = tf.variableGrads(() => lossOf(this.embed(images, seed)), [...this.encoderVariables.values(), ...extra.values()]);
    const extraGrads = new Map([...extra].map(([name, v]) => [name, grads[v.name]]));
    return { loss: value, grads: this.byName(grads), extraGrads };
  }

  /**
   * Encoder gradients of sum(embeddings(images) * upstream): the chain rule's second half when the
   * loss's gradient with respect to this shard's embeddings (`upstream`) was formed elsewhere. The
   * forward pass is run again with the same dropout seed, so it is the same function.
   */
  backpropagate(images: tf.Tensor4D, upstream: tf.Tensor2D, seed: number): Map<string, tf.Tensor> {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(this.embed(images, seed), upstream)) as tf.Scalar, [...this.encoderVariables.values()]);
    value.dispose();
    return this.byName(grads);
  }

  apply(grads: ReadonlyMap<string, tf.Tensor>, learningRate?: number): void {
    this.adam.apply(grads, learningRate);
  }

  get step(): number {
    return this.adam.step;
  }

  /** Every variable of the model (the dense checkpoint is a whole model). */
  weights(): Promise<NamedArray[]> {
    return exportWeights(this.model.variables);
  }

  /** Weights, AdAM moments and step: what an interrupted dense training resumes from. */
  async state(): Promise<EngineState> {
    return { weights: await this.weights(), optimizer: await this.adam.getState(), step: this.adam.step };
  }

  /** Takes the model's variables and the encoder's moments from `state` by name (other names are not this learner's). */
  restore(state: EngineState): void {
    assignByName(this.model.variables, state.weights, 'dense learner');
    this.adam.setState(state.optimizer, state.step);
  }

  dispose(): void {
    this.adam.dispose();
    this.model.dispose();
  }

  private byName(grads: tf.NamedTensorMap): Map<string, tf.Tensor> {
    return new Map([...this.encoderVariables].map(([name, v]) => [name, grads[v.name]]));
  }
}

/** Assign every variable its array from `arrays` (matched by name; extra arrays are ignored). */
export function assignByName(variables: ReadonlyMap<string, tf.Variable>, arrays: readonly NamedArray[], owner: string): void {
  const byName = new Map(arrays.map((a) => [a.name, a]));
  for (const [name, variable] of variables) {
    const a = byName.get(name);
    if (!a) throw new Error(`${owner}: the saved state has no "${name}"`);
    if (a.data.length !== variable.size) throw new Error(`${owner}: "${name}" has ${a.data.length} values, expected ${variable.size}`);
    variable.assign(tf.tensor(a.data as Float32Array, variable.shape, 'float32'));
  }
}
