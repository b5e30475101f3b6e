/**
 * Body of one data-parallel dense worker thread (see parallel.ts): its own single-threaded tfjs
 * backend and DenseLearner. It keeps the images of its last `embed` until the matching
 * `gradients`, so they cross the thread boundary once per step.
 */
import { workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { serveRequests, type WorkerHandlers } from '../../runtime/workers.ts';
import { initBackend } from '../../runtime/backend.ts';
import type { EngineState } from '../../types.ts';
import { DenseLearner, type DenseEngineOptions } from './learner.ts';

const opts = workerData as DenseEngineOptions;
await initBackend(opts.backend === 'cpu' ? 'cpu' : 'wasm');
const learner = DenseLearner.create(opts);
const names = learner.encoderNames;
const size = opts.shape.imageSize;
let pending: { images: tf.Tensor4D; seed: number } | null = null;

const handlers: WorkerHandlers = {
  async ping() {
    return { value: 'ready' };
  },
  async embed(p: { pixels: Float32Array; count: number; seed: number }) {
    pending?.images.dispose();
    const images = tf.tensor4d(p.pixels, [p.count, size, size, 3]);
    pending = { images, seed: p.seed };
    const embeddings = learner.embed(images, p.seed);
    const data = (await embeddings.data()) as Float32Array;
    embeddings.dispose();
    return { value: data, transfer: [data.buffer as ArrayBuffer] };
  },
  async gradients(p: { upstream: Float32Array }) {
    if (!pending) throw new Error('dense worker: gradients asked before embed');
    const upstream = tf.tensor2d(p.upstream, [pending.images.shape[0], p.upstream.length / pending.images.shape[0]]);
    const grads = learner.backpropagate(pending.images, upstream, pending.seed);
    const arrays: Float32Array[] = [];
    for (const name of names) arrays.push((await grads.get(name)!.data()) as Float32Array);
    tf.dispose([upstream, pending.images, ...grads.values()]);
    pending = null;
    return { value: arrays, transfer: arrays.map((a) => a.buffer as ArrayBuffer) };
  },
  async apply(p: { arrays: Float32Array[]; learningRate?: number }) {
    const grads = new Map(names.map((n, i) => [n, tf.tensor(p.arrays[i], learner.encoderVariables.get(n)!.shape)]));
    learner.apply(grads, p.learningRate);
    tf.dispose([...grads.values()]);
    return { value: null };
  },
  async weights() {
    return { value: await learner.weights() };
  },
  async state() {
    return { value: await learner.state() };
  },
  async restore(state: EngineState) {
    learner.restore(state);
    return { value: null };
  },
};

serveRequests(handlers);
