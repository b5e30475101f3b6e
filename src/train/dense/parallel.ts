/**
 * Data-parallel dense step. A contrastive loss couples every pair of images in the batch, so it
 * cannot be summed shard by shard like the DSI loss; the step is split by the chain rule instead:
 *   1. each worker embeds its shard of images (dropout seeded per shard) and sends the embeddings;
 *   2. this thread forms the loss over the whole batch and its gradient G with respect to every
 *      embedding (a B x D problem, cheap), and updates the objective's own variables (the
 *      classifier's class vectors) here;
 *   3. each worker back-propagates its rows of G through its encoder (running the forward pass
 *      again with the same seed, as tfjs keeps no tape between calls) and sends encoder gradients;
 *   4. their sum, formed in shard order, is the whole batch's gradient; every worker applies it.
 * The extra forward pass costs about a third of a step, so two workers give ~1.5x, not 2x.
 */
import * as tf from '@tensorflow/tfjs-core';
import { WorkerClient } from '../../runtime/workers.ts';
import type { EngineState, NamedArray } from '../../types.ts';
import { GradientSum, shardRanges, shardSeed } from '../engine/parallel.ts';
import type { DenseEngine, DenseEngineOptions } from './engine.ts';
import { batchTensors, mergeStates, objectiveWithOptimizer } from './engine.ts';

export async function createParallelDenseEngine(opts: DenseEngineOptions, workerCount: number): Promise<DenseEngine> {
  const workers = Array.from({ length: workerCount }, () => new WorkerClient(new URL('./worker.ts', import.meta.url), opts));
  await Promise.all(workers.map((w) => w.call('ping', null)));
  const per = opts.shape.imageSize * opts.shape.imageSize * 3;
  const head = objectiveWithOptimizer(opts);
  let steps = 0;
  const gradientSum = new GradientSum();

  return {
    workers: workerCount,
    async step(batch, seed, learningRate) {
      const ranges = shardRanges(batch.count, workerCount);
      const shardEmbeddings = await Promise.all(
        ranges.map(([first, last], i) => {
          const pixels = batch.pixels.slice(first * per, last * per);
          return workers[i].call<Float32Array>('embed', { pixels, count: last - first, seed: shardSeed(seed, i) }, [pixels.buffer as ArrayBuffer]);
        }),
      );
      const dim = shardEmbeddings[0].length / (ranges[0][1] - ranges[0][0]);
      const all = new Float32Array(batch.count * dim);
      shardEmbeddings.forEach((e, i) => all.set(e, ranges[i][0] * dim));
      // The embeddings as a variable, so one variableGrads gives their gradient and the objective's own.
      const tensors = batchTensors(batch);
      const gathered = tf.tensor2d(all, [batch.count, dim]);
      const embeddings = tf.variable(gathered, true) as tf.Variable<tf.Rank.R2>;
      const { value, grads } = tf.variableGrads(() => head.objective.loss(embeddings, tensors), [embeddings, ...head.objective.variables.values()]);
      const upstream = (await grads[embeddings.name].data()) as Float32Array;
      const loss = (await value.data())[0];
      head.apply(new Map([...head.objective.variables].map(([name, v]) => [name, grads[v.name]])), learningRate);
      tf.dispose([tensors.positives, tensors.targets, gathered, embeddings, value, ...Object.values(grads)]);
      const perShard = await Promise.all(
        ranges.map(([first, last], i) => workers[i].call<Float32Array[]>('gradients', { upstream: upstream.slice(first * dim, last * dim) })),
      );
      const sum = gradientSum.sum(perShard);
      await Promise.all(workers.map((w) => w.call('apply', { arrays: sum, learningRate })));
      steps++;
      return loss;
    },
    weights: () => workers[0].call<NamedArray[]>('weights', null),
    // Every worker applies the same summed gradients, so worker 0's replica speaks for all.
    state: async () => mergeStates(await workers[0].call<EngineState>('state', null), await head.state()),
    async restore(state) {
      await Promise.all(workers.map((w) => w.call('restore', state)));
      head.restore(state);
      steps = state.step;
    },
    get steps() {
      return steps;
    },
    async dispose() {
      head.dispose();
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
