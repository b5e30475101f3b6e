/**
 * `dsi bench --dense`: time one step of the dense dual-encoder baseline (encoder forward +
 * backward + AdamW, supervised contrastive loss), at train.workers threads, on random pixels in
 * 10 classes.
 */
import { Rng } from '../runtime/rng.ts';
import { createDenseEngine, type DenseBatch } from '../train/dense/engine.ts';
import type { BenchCase } from './bench.ts';

export interface DenseBenchResult {
  name: string;
  workers: number;
  msPerStep: number;
  msMin: number;
  imagesPerSecond: number;
}

function randomDenseBatch(size: number, count: number, seed: number): DenseBatch {
  const rng = new Rng(seed);
  const pixels = new Float32Array(count * size * size * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(rng.next() * 256);
  const classes = Array.from({ length: count }, () => rng.int(10));
  const positives = new Float32Array(count * count);
  classes.forEach((a, i) => classes.forEach((b, j) => (positives[i * count + j] = i !== j && a === b ? 1 : 0)));
  const targets = new Float32Array(count * 10);
  classes.forEach((c, i) => (targets[i * 10 + c] = 1));
  return { pixels, count, positives, targets };
}

export async function benchDense(c: BenchCase, backend: string, steps: number): Promise<DenseBenchResult> {
  const batch = randomDenseBatch(c.shape.imageSize, c.train.batch_size, 1);
  const engine = await createDenseEngine({ model: c.model, train: c.train, shape: c.shape, backend, classes: 10 });
  const copy = () => ({ ...batch, pixels: batch.pixels.slice() });
  await engine.step(copy(), 0); // warm-up: kernel setup, worker start
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    await engine.step(copy(), s + 1);
    times.push(performance.now() - t0);
  }
  await engine.dispose();
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  return { name: c.name, workers: engine.workers, msPerStep: mean, msMin: Math.min(...times), imagesPerSecond: (c.train.batch_size / mean) * 1000 };
}

export function formatDenseBench(r: DenseBenchResult): string {
  return `${r.name}, dense dual-encoder step: ${r.msPerStep.toFixed(0)} ms/step (best ${r.msMin.toFixed(0)}), ${r.imagesPerSecond.toFixed(1)} images/s, ${r.workers} worker thread(s)`;
}
