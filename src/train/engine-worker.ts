/**
 * Body of one data-parallel worker thread: its own tfjs backend, a model replica and an Adam
 * copy. All workers start from the same seed and apply the same summed gradients, so their
 * weights stay identical without being sent around.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendChoice } from '../runtime/backend.ts';
import type { EngineOptions, EngineState, TrainBatch } from '../model/types.ts';
import { exportWeights } from '../model/dsi-model.ts';
import { Adam } from './engine-adam.ts';
import { Replica } from './engine-replica.ts';
import { setWeights } from './engine.ts';

const opts = workerData as EngineOptions;
const backendChoice: BackendChoice = opts.backend === 'cpu' ? 'cpu' : 'wasm';
await initBackend(backendChoice);
const replica = Replica.create(opts.model, opts.shape, opts.train.seed);
const adam = new Adam(replica.model.variables, opts.train.learning_rate);
const names = [...replica.model.variables.keys()];

const handlers: Record<string, (p: any) => Promise<{ value: unknown; transfer?: ArrayBuffer[] }>> = {
  async ping() {
    return { value: 'ready' };
  },
  async gradients(p: { batch: TrainBatch; seed: number; normaliser: number }) {
    const { grads, stats } = await replica.gradients(p.batch, p.seed, p.normaliser);
    const arrays: Float32Array[] = [];
    for (const name of names) arrays.push((await grads.get(name)!.data()) as Float32Array);
    tf.dispose([...grads.values()]);
    return { value: { arrays, stats }, transfer: arrays.map((a) => a.buffer as ArrayBuffer) };
  },
  async apply(p: { arrays: Float32Array[]; learningRate?: number }) {
    const grads = new Map(names.map((n, i) => [n, tf.tensor(p.arrays[i], replica.model.variables.get(n)!.shape)]));
    adam.apply(grads, p.learningRate);
    tf.dispose([...grads.values()]);
    return { value: null };
  },
  async evaluate(p: { batch: TrainBatch }) {
    return { value: await replica.evaluate(p.batch) };
  },
  async getState() {
    const state: EngineState = { weights: await exportWeights(replica.model.variables), optimizer: await adam.getState(), step: adam.step };
    return { value: state };
  },
  async setState(p: { state: EngineState }) {
    setWeights(replica.model.variables, p.state);
    adam.setState(p.state.optimizer, p.state.step);
    return { value: null };
  },
};

parentPort!.on('message', async (m: { id: number; type: string; payload: unknown }) => {
  try {
    const { value, transfer } = await handlers[m.type](m.payload);
    parentPort!.postMessage({ id: m.id, ok: true, value }, transfer ?? []);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
});
