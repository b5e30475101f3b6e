/**
 * Data-parallel engine: each batch is split by image across worker threads (each with its own
 * single-threaded wasm backend, so two cores do twice the work). Every shard's gradient is of
 * lossSum / (tokens in the WHOLE batch), so their sum is exactly the full-batch gradient; the
 * sum is formed in a fixed order (deterministic for a seed and worker count) and every worker
 * applies the same Adam update.
 */
import { WorkerClient } from '../../runtime/workers.ts';
import type { EngineState } from '../../types.ts';
import type { EngineOptions, StepStats, TrainBatch, TrainingEngine } from './engine.ts';
import { checkBatch, countTargetTokens } from './replica.ts';
import { addStats, emptyStats } from './stats.ts';

/** Split a batch into up to `parts` shards of whole images (targets follow their image). */
export function shardBatch(batch: TrainBatch, parts: number, imageValues: number, seqLen: number): TrainBatch[] {
  const n = Math.min(parts, batch.imageCount);
  const shards: TrainBatch[] = [];
  for (let s = 0; s < n; s++) {
    const first = Math.floor((s * batch.imageCount) / n);
    const last = Math.floor(((s + 1) * batch.imageCount) / n);
    const rows: number[] = [];
    for (let r = 0; r < batch.targetCount; r++) if (batch.targetImage[r] >= first && batch.targetImage[r] < last) rows.push(r);
    const targets = new Int32Array(rows.length * seqLen);
    rows.forEach((r, i) => targets.set(batch.targets.subarray(r * seqLen, (r + 1) * seqLen), i * seqLen));
    shards.push({
      images: batch.images.slice(first * imageValues, last * imageValues),
      imageCount: last - first,
      targets,
      targetCount: rows.length,
      targetImage: Int32Array.from(rows.map((r) => batch.targetImage[r] - first)),
    });
  }
  return shards.filter((s) => s.targetCount > 0);
}

function sumStats(all: StepStats[]): StepStats {
  return all.reduce(addStats, emptyStats());
}

export async function createParallelEngine(opts: EngineOptions, workerCount: number): Promise<TrainingEngine> {
  const workerFile = new URL('./worker.ts', import.meta.url);
  const workers = Array.from({ length: workerCount }, () => new WorkerClient(workerFile, opts));
  // Surfaces a worker that failed to start (e.g. its backend) before the first step.
  await Promise.all(workers.map((w) => w.call('ping', null)));
  const imageValues = opts.shape.imageSize * opts.shape.imageSize * 3;
  const seqLen = opts.shape.idLength + 1;

  return {
    backend: opts.backend,
    workers: workerCount,
    async trainStep(batch, seed, learningRate) {
      checkBatch(batch, opts.shape);
      const normaliser = countTargetTokens(batch);
      const shards = shardBatch(batch, workerCount, imageValues, seqLen);
      // Shard i's dropout seed depends only on the step seed and i: deterministic per worker count.
      const results = await Promise.all(
        shards.map((shard, i) =>
          workers[i].call<{ arrays: Float32Array[]; stats: StepStats }>('gradients', { batch: shard, seed: (seed + Math.imul(i, 0x9e3779b1)) >>> 0, normaliser }),
        ),
      );
      const sum = results[0].arrays;
      for (let r = 1; r < results.length; r++) {
        results[r].arrays.forEach((a, p) => {
          const target = sum[p];
          for (let j = 0; j < a.length; j++) target[j] += a[j];
        });
      }
      await Promise.all(workers.map((w) => w.call('apply', { arrays: sum, learningRate })));
      return sumStats(results.map((r) => r.stats));
    },
    async evaluate(batch) {
      checkBatch(batch, opts.shape);
      const shards = shardBatch(batch, workerCount, imageValues, seqLen);
      return sumStats(await Promise.all(shards.map((s, i) => workers[i].call<StepStats>('evaluate', { batch: s }))));
    },
    async getState(): Promise<EngineState> {
      return workers[0].call<EngineState>('getState', null);
    },
    async setState(state) {
      await Promise.all(workers.map((w) => w.call('setState', { state })));
    },
    async dispose() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
