/**
 * Body of one data-parallel worker thread: its own tfjs backend and Learner (a model replica and
 * an Adam copy), driven by messages from parallel.ts. All workers start from the same seed and
 * apply the same summed gradients, so their weights stay identical without being sent around.
 */
import { workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { serveRequests, type WorkerHandlers } from '../../runtime/workers.ts';
import { initBackend, type BackendChoice } from '../../runtime/backend.ts';
import type { EngineState } from '../../types.ts';
import type { EngineOptions, TrainBatch } from './engine.ts';
import { Learner } from './learner.ts';

const opts = workerData as EngineOptions;
const backendChoice: BackendChoice = opts.backend === 'cpu' ? 'cpu' : 'wasm';
await initBackend(backendChoice);
const learner = Learner.create(opts);
const names = [...learner.variables.keys()];

const handlers: WorkerHandlers = {
  async ping() {
    return { value: 'ready' };
  },
  async gradients(p: { batch: TrainBatch; seed: number; normaliser: number }) {
    const t0 = performance.now();
    const { grads, stats } = await learner.gradients(p.batch, p.seed, p.normaliser);
    const arrays: Float32Array[] = [];
    for (const name of names) arrays.push((await grads.get(name)!.data()) as Float32Array);
    tf.dispose([...grads.values()]);
    return { value: { arrays, stats, ms: performance.now() - t0 }, transfer: arrays.map((a) => a.buffer as ArrayBuffer) };
  },
  async apply(p: { arrays: Float32Array[]; learningRate?: number }) {
    const t0 = performance.now();
    const grads = new Map(names.map((n, i) => [n, tf.tensor(p.arrays[i], learner.variables.get(n)!.shape)]));
    learner.apply(grads, p.learningRate);
    tf.dispose([...grads.values()]);
    return { value: { ms: performance.now() - t0 } };
  },
  async evaluate(p: { batch: TrainBatch }) {
    return { value: await learner.evaluate(p.batch) };
  },
  async getState() {
    return { value: await learner.getState() };
  },
  async setState(p: { state: EngineState }) {
    learner.setState(p.state);
    return { value: null };
  },
};

serveRequests(handlers);
