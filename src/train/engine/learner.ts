/**
 * One model replica and its Adam: the unit that learns. The single-thread engine owns one; every
 * worker thread of the data-parallel engine owns another. Its state (weights, optimizer slots,
 * step) is what a checkpoint holds of the engine.
 */
import * as tf from '@tensorflow/tfjs-core';
import { exportWeights } from '../../model/dsi-model.ts';
import type { EngineState } from '../../types.ts';
import { Adam } from './adam.ts';
import type { EngineOptions, StepStats, TrainBatch } from './engine.ts';
import { Replica, countTargetTokens } from './replica.ts';

export class Learner {
  private constructor(
    readonly replica: Replica,
    private readonly adam: Adam,
  ) {}

  static create(opts: EngineOptions): Learner {
    const t = opts.train;
    const replica = Replica.create(opts.model, opts.shape, t.seed, t.label_smoothing);
    return new Learner(replica, new Adam(replica.model.variables, t.learning_rate, { weightDecay: t.weight_decay, clipNorm: t.grad_clip_norm }));
  }

  get variables(): ReadonlyMap<string, tf.Variable> {
    return this.replica.model.variables;
  }

  /** Gradients of lossSum / normaliser (see Replica.gradients); nothing is updated. */
  gradients(batch: TrainBatch, seed: number, normaliser: number) {
    return this.replica.gradients(batch, seed, normaliser);
  }

  /** One Adam update from gradients by variable name. */
  apply(grads: ReadonlyMap<string, tf.Tensor>, learningRate?: number): void {
    this.adam.apply(grads, learningRate);
  }

  /** Gradients of this whole batch and the update they give. */
  async trainStep(batch: TrainBatch, seed: number, learningRate?: number): Promise<StepStats> {
    const { grads, stats } = await this.gradients(batch, seed, countTargetTokens(batch));
    this.apply(grads, learningRate);
    tf.dispose([...grads.values()]);
    return stats;
  }

  evaluate(batch: TrainBatch): Promise<StepStats> {
    return this.replica.evaluate(batch);
  }

  async getState(): Promise<EngineState> {
    return { weights: await exportWeights(this.variables), optimizer: await this.adam.getState(), step: this.adam.step };
  }

  setState(state: EngineState): void {
    setWeights(this.variables, state);
    this.adam.setState(state.optimizer, state.step);
  }

  dispose(): void {
    this.adam.dispose();
    this.replica.model.dispose();
  }
}

/** Load checkpoint weights into live variables, refusing any name or size mismatch. */
function setWeights(variables: ReadonlyMap<string, tf.Variable>, state: EngineState): void {
  const byName = new Map(state.weights.map((w) => [w.name, w]));
  for (const [name, v] of variables) {
    const w = byName.get(name);
    if (!w) throw new Error(`engine state has no weight "${name}"`);
    if (w.data.length !== v.size) throw new Error(`weight "${name}" has ${w.data.length} values, the model needs ${v.size}`);
  }
  if (byName.size !== variables.size) {
    const extra = [...byName.keys()].filter((n) => !variables.has(n));
    throw new Error(`engine state has weights the model does not: ${extra.slice(0, 5).join(', ')}`);
  }
  for (const [name, v] of variables) v.assign(tf.tensor(byName.get(name)!.data, v.shape, 'float32'));
}
