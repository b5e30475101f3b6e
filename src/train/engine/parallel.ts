/**
 * Data-parallel engine: each batch is split by image across worker threads (each with its own
 * single-threaded wasm backend, so two cores do twice the work). Every shard's gradient is of
 * lossSum / (tokens in the WHOLE batch), so their sum is exactly the full-batch gradient; the
 * sum is formed in a fixed order (deterministic for a seed and worker count) and every worker
 * applies the same Adam update.
 */
import { WorkerClient } from '../../runtime/workers.ts';
import type { EngineState } from '../../types.ts';
import type { EngineOptions, StepStats, StepTiming, TrainBatch, TrainingEngine } from './engine.ts';
import { checkBatch, countTargetTokens } from './replica.ts';
import { addStats, emptyStats } from './stats.ts';

/** `count` items in up to `parts` consecutive, near-equal, non-empty [first, last) ranges. */
export function shardRanges(count: number, parts: number): Array<[number, number]> {
  const n = Math.min(parts, count);
  return Array.from({ length: n }, (_, s) => [Math.floor((s * count) / n), Math.floor(((s + 1) * count) / n)]);
}

/** Shard i's dropout seed depends only on the step seed and i: deterministic per worker count. */
export function shardSeed(seed: number, shard: number): number {
  return (seed + Math.imul(shard, 0x9e3779b1)) >>> 0;
}

/** Split a batch into up to `parts` shards of whole images (targets follow their image). */
export function shardBatch(batch: TrainBatch, parts: number, imageValues: number, seqLen: number): TrainBatch[] {
  const shards: TrainBatch[] = [];
  for (const [first, last] of shardRanges(batch.imageCount, parts)) {
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

/**
 * Element-wise sum of every shard's gradient arrays, in shard order (deterministic), into arrays
 * backed by SharedArrayBuffers and reused every step: posting them to the workers shares them
 * instead of copying them once per worker (~8 MB each for the reference model). The workers only
 * read them during `apply`, which completes before the next step sums again.
 */
export class GradientSum {
  private arrays: Float32Array[] | null = null;

  sum(perShard: Float32Array[][]): Float32Array[] {
    const first = perShard[0];
    this.arrays ??= first.map((a) => new Float32Array(new SharedArrayBuffer(a.byteLength)));
    const out = this.arrays;
    if (out.length !== first.length || out.some((a, p) => a.length !== first[p].length)) {
      throw new Error('GradientSum: the gradient arrays changed shape between steps');
    }
    first.forEach((a, p) => out[p].set(a));
    for (let r = 1; r < perShard.length; r++) {
      perShard[r].forEach((a, p) => {
        const target = out[p];
        for (let j = 0; j < a.length; j++) target[j] += a[j];
      });
    }
    return out;
  }
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
  let timing: StepTiming | null = null;
  const gradientSum = new GradientSum();

  return {
    backend: opts.backend,
    workers: workerCount,
    async trainStep(batch, seed, learningRate) {
      checkBatch(batch, opts.shape);
      const normaliser = countTargetTokens(batch);
      const shards = shardBatch(batch, workerCount, imageValues, seqLen);
      const t0 = performance.now();
      const results = await Promise.all(
        shards.map((shard, i) =>
          workers[i].call<{ arrays: Float32Array[]; stats: StepStats; ms: number }>('gradients', { batch: shard, seed: shardSeed(seed, i), normaliser }),
        ),
      );
      const t1 = performance.now();
      const sum = gradientSum.sum(results.map((r) => r.arrays));
      const t2 = performance.now();
      const applied = await Promise.all(workers.map((w) => w.call<{ ms: number }>('apply', { arrays: sum, learningRate })));
      timing = {
        gradients: t1 - t0,
        workerCompute: results.map((r) => r.ms),
        sum: t2 - t1,
        apply: performance.now() - t2,
        workerApply: applied.map((a) => a.ms),
      };
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
    lastStepTiming: () => timing,
  };
}
