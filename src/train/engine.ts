/**
 * The training engine: forward + backward + Adam for one batch, on this thread or split across
 * worker threads (data parallel, see engine-parallel.ts). The trainer only sees TrainingEngine.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { EngineOptions, EngineState, StepStats, TrainBatch, TrainingEngine } from '../model/types.ts';
import { exportWeights } from '../model/dsi-model.ts';
import { ensureGradients } from '../runtime/gradients.ts';
import { Adam } from './engine-adam.ts';
import { Replica, checkBatch, countTargetTokens } from './engine-replica.ts';

/** Resolve `train.workers` (auto|N): auto = one per core on the single-threaded backends. */
export function resolveWorkerCount(opts: EngineOptions, cores: number): number {
  const w = opts.train.workers;
  if (w === 'auto') return opts.backend === 'wasm' || opts.backend === 'cpu' ? Math.max(1, Math.min(cores, 8)) : 1;
  return w;
}

export async function createEngine(opts: EngineOptions): Promise<TrainingEngine> {
  await ensureGradients();
  const { availableParallelism } = await import('node:os');
  const workers = resolveWorkerCount(opts, availableParallelism());
  // workers = 1 never spawns a thread.
  if (workers > 1) {
    const { createParallelEngine } = await import('./engine-parallel.ts');
    return createParallelEngine(opts, workers);
  }
  return createSingleEngine(opts);
}

/** All work on the calling thread, on the already-initialised tfjs backend. */
export function createSingleEngine(opts: EngineOptions): TrainingEngine {
  const replica = Replica.create(opts.model, opts.shape, opts.train.seed);
  const adam = new Adam(replica.model.variables, opts.train.learning_rate);
  return {
    backend: opts.backend,
    workers: 1,
    async trainStep(batch: TrainBatch, seed: number, learningRate?: number): Promise<StepStats> {
      checkBatch(batch, opts.shape);
      const { grads, stats } = await replica.gradients(batch, seed, countTargetTokens(batch));
      adam.apply(grads, learningRate);
      tf.dispose([...grads.values()]);
      return stats;
    },
    async evaluate(batch: TrainBatch): Promise<StepStats> {
      checkBatch(batch, opts.shape);
      return replica.evaluate(batch);
    },
    async getState(): Promise<EngineState> {
      return { weights: await exportWeights(replica.model.variables), optimizer: await adam.getState(), step: adam.step };
    },
    async setState(state: EngineState): Promise<void> {
      setWeights(replica.model.variables, state);
      adam.setState(state.optimizer, state.step);
    },
    async dispose(): Promise<void> {
      adam.dispose();
      replica.model.dispose();
    },
  };
}

/** Load checkpoint weights into live variables, refusing any name or size mismatch. */
export function setWeights(variables: ReadonlyMap<string, tf.Variable>, state: EngineState): void {
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
