/**
 * `dsi bench`: time a training step (forward + backward + Adam) and report ms/step, images/s,
 * effective GFLOP/s and where the time goes (tf.profile summed by kernel).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config/sections/model.ts';
import type { TrainConfig } from '../config/sections/train.ts';
import { encodeTarget, sequenceLength, VOCAB_SIZE } from '../data/ids.ts';
import type { ModelShape } from '../types.ts';
import type { StepTiming, TrainBatch } from '../train/engine/engine.ts';
import { Rng } from '../runtime/rng.ts';
import { createEngine } from '../train/engine/engine.ts';
import { Replica, countTargetTokens } from '../train/engine/replica.ts';

export interface BenchCase {
  name: string;
  model: ModelConfig;
  train: TrainConfig;
  shape: ModelShape;
}

export interface FlopCount {
  /** Forward multiply-adds by part, for printing the formula with its terms. */
  terms: { label: string; formula: string; macs: number }[];
  forwardMacs: number;
  /** 3 x forward MACs x 2 (backward ~ 2x forward; a multiply-add = 2 FLOPs). */
  stepFlops: number;
}

/** Forward multiply-adds of one teacher-forced step over B images and R = B targets. */
export function countStepFlops(m: ModelConfig, shape: ModelShape, images: number, targets = images): FlopCount {
  const B = images, R = targets, D = m.embed_dim, F = m.ffn_dim;
  const P = (shape.imageSize / m.patch_size) ** 2;
  const T = sequenceLength(shape.idLength);
  const channels = m.patch_tokenizer === 'shifted' ? 15 : 3;
  const pp = m.patch_size * m.patch_size * channels;
  const V = VOCAB_SIZE;
  const Le = m.encoder_layers, Ld = m.decoder_layers;
  const terms = [
    { label: 'patch embedding', formula: `B*P*(p*p*${channels})*D`, macs: B * P * pp * D },
    { label: 'encoder projections', formula: 'Le*4*B*P*D^2', macs: Le * 4 * B * P * D * D },
    { label: 'encoder attention', formula: 'Le*2*B*P^2*D', macs: Le * 2 * B * P * P * D },
    { label: 'encoder MLP', formula: 'Le*2*B*P*D*F', macs: Le * 2 * B * P * D * F },
    { label: 'decoder embedding+head', formula: '2*R*T*V*D', macs: 2 * R * T * V * D },
    { label: 'decoder self-attn proj', formula: 'Ld*4*R*T*D^2', macs: Ld * 4 * R * T * D * D },
    { label: 'decoder self-attention', formula: 'Ld*2*R*T^2*D', macs: Ld * 2 * R * T * T * D },
    { label: 'decoder cross Q,O proj', formula: 'Ld*2*R*T*D^2', macs: Ld * 2 * R * T * D * D },
    { label: 'decoder cross K,V proj', formula: 'Ld*2*B*P*D^2', macs: Ld * 2 * B * P * D * D },
    { label: 'decoder cross-attention', formula: 'Ld*2*R*T*P*D', macs: Ld * 2 * R * T * P * D },
    { label: 'decoder MLP', formula: 'Ld*2*R*T*D*F', macs: Ld * 2 * R * T * D * F },
  ];
  const forwardMacs = terms.reduce((a, t) => a + t.macs, 0);
  return { terms, forwardMacs, stepFlops: 3 * 2 * forwardMacs };
}

/** Random pixels and random valid IDs: enough for timing. */
export function randomBatch(shape: ModelShape, count: number, seed: number): TrainBatch {
  const rng = new Rng(seed);
  const images = new Uint8Array(count * shape.imageSize * shape.imageSize * 3);
  for (let i = 0; i < images.length; i++) images[i] = (rng.next() * 256) | 0;
  const len = sequenceLength(shape.idLength);
  const targets = new Int32Array(count * len);
  const maxId = 10 ** shape.idLength;
  for (let r = 0; r < count; r++) targets.set(encodeTarget(rng.int(maxId), shape.idLength), r * len);
  return { images, imageCount: count, targets, targetCount: count, targetImage: Int32Array.from({ length: count }, (_, i) => i) };
}

export interface BenchResult {
  name: string;
  workers: number;
  msPerStep: number;
  msMin: number;
  imagesPerSecond: number;
  gflops: number;
  flops: FlopCount;
  kernels: KernelTime[];
  /** Mean split of a data-parallel step (null with one worker). */
  timing: StepTiming | null;
  /** Process CPU time per step, all threads. */
  cpuMsPerStep: number;
}

function meanTiming(all: StepTiming[]): StepTiming {
  const mean = (f: (t: StepTiming) => number) => all.reduce((a, t) => a + f(t), 0) / all.length;
  return {
    gradients: mean((t) => t.gradients),
    workerCompute: all[0].workerCompute.map((_, i) => mean((t) => t.workerCompute[i])),
    sum: mean((t) => t.sum),
    apply: mean((t) => t.apply),
    workerApply: all[0].workerApply.map((_, i) => mean((t) => t.workerApply[i])),
  };
}

export async function benchCase(c: BenchCase, backend: string, steps: number, profile: boolean): Promise<BenchResult> {
  const batchSize = c.train.batch_size;
  const batch = randomBatch(c.shape, batchSize, 1);
  const engine = await createEngine({ model: c.model, train: c.train, shape: c.shape, backend });
  await engine.trainStep(batch, 0); // warm-up: kernel setup, XNNPACK packing, worker start
  const times: number[] = [];
  const timings: StepTiming[] = [];
  // CPU time of the whole process, every worker thread included: on a shared machine it moves much
  // less than wall time, so it is the figure to compare across sittings (work, not waiting).
  const cpu0 = process.cpuUsage();
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    await engine.trainStep(batch, s + 1);
    times.push(performance.now() - t0);
    const timing = engine.lastStepTiming?.();
    if (timing) timings.push(timing);
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuMsPerStep = (cpu.user + cpu.system) / 1000 / steps;
  const workers = engine.workers;
  await engine.dispose();
  const flops = countStepFlops(c.model, c.shape, batchSize);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const kernels = profile ? await profileStep(c, batch) : [];
  return {
    name: c.name,
    workers,
    msPerStep: mean,
    msMin: Math.min(...times),
    imagesPerSecond: (batchSize / mean) * 1000,
    gflops: flops.stepFlops / (mean / 1000) / 1e9,
    flops,
    kernels,
    timing: timings.length > 0 ? meanTiming(timings) : null,
    cpuMsPerStep,
  };
}

/** One single-thread gradient step under tf.profile, kernel time summed by kernel name. */
async function profileStep(c: BenchCase, batch: TrainBatch): Promise<KernelTime[]> {
  const replica = Replica.create(c.model, c.shape, c.train.seed);
  await replica.gradients(batch, 0, countTargetTokens(batch)).then((r) => tf.dispose([...r.grads.values()]));
  const info = await tf.profile(async () => {
    const r = await replica.gradients(batch, 1, countTargetTokens(batch));
    tf.dispose([...r.grads.values()]);
  });
  replica.model.dispose();
  return kernelTimes(info);
}

export interface KernelTime {
  name: string;
  ms: number;
  calls: number;
  /**
   * A scope rather than a kernel (a tf.customGrad forward pass, an op wrapper such as
   * fusedMatMul__op): tf.profile times it AND the kernels inside it, so it is shown, not summed.
   */
  scope: boolean;
}

/**
 * tf.profile's kernels, time summed by kernel name, largest first. DSI_BENCH_SHAPES=Sum,Transpose
 * (kernel names) prints every call of those kernels with its input shapes to stderr.
 */
export function kernelTimes(info: Awaited<ReturnType<typeof tf.profile>>): KernelTime[] {
  const byName = new Map<string, { ms: number; calls: number; scope: boolean }>();
  const logShapes = new Set((process.env.DSI_BENCH_SHAPES ?? '').split(',').filter(Boolean));
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    // Split matMuls into plain 2-D and batched (attention) ones: on wasm they run in different kernels.
    const shapes = (k.inputShapes ?? []) as number[][];
    const batched = k.name === 'BatchMatMul' && shapes.some((s) => s.length > 2 && s[0] > 1);
    const key = k.name === 'BatchMatMul' ? (batched ? 'BatchMatMul (batched)' : 'BatchMatMul (2-D)') : k.name;
    const e = byName.get(key) ?? { ms: 0, calls: 0, scope: tf.getKernel(k.name, tf.getBackend()) === undefined };
    e.ms += ms;
    e.calls++;
    byName.set(key, e);
    if (logShapes.has(k.name)) console.error(k.name, JSON.stringify(shapes), ms.toFixed(2));
  }
  return [...byName.entries()].map(([name, e]) => ({ name, ...e })).sort((a, b) => b.ms - a.ms);
}

/** Kernel time of a profile: kernels only, scopes (which contain kernels) left out. */
export function totalKernelMs(kernels: readonly KernelTime[]): number {
  return kernels.reduce((a, k) => a + (k.scope ? 0 : k.ms), 0);
}

/** The top kernels as indented lines: name, ms, share of the total, calls; scopes marked, no share. */
export function formatKernelTimes(kernels: readonly KernelTime[], top: number, indent = '    '): string[] {
  const total = totalKernelMs(kernels);
  return kernels
    .slice(0, top)
    .map((k) => {
      const share = k.scope ? ' scope' : `${((100 * k.ms) / total).toFixed(1).padStart(5)}%`;
      return `${indent}${k.name.padEnd(22)} ${k.ms.toFixed(1).padStart(8)} ms ${share}  ${String(k.calls).padStart(5)} calls`;
    });
}

export function formatBench(r: BenchResult, topKernels = 12): string {
  const lines = [
    `== ${r.name} (${r.workers} worker${r.workers > 1 ? 's' : ''})`,
    `  ${r.msPerStep.toFixed(0)} ms/step (best ${r.msMin.toFixed(0)}), ${r.imagesPerSecond.toFixed(1)} images/s, ${r.gflops.toFixed(2)} GFLOP/s effective; CPU ${r.cpuMsPerStep.toFixed(0)} ms/step (all threads)`,
    `  FLOPs/step = 3 x 2 x forward MACs = ${(r.flops.stepFlops / 1e9).toFixed(2)} GFLOP; forward MACs by term:`,
    ...r.flops.terms.map((t) => `    ${t.label.padEnd(26)} ${t.formula.padEnd(16)} ${(t.macs / 1e6).toFixed(1).padStart(9)} M`),
  ];
  if (r.timing) {
    const ms = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' / ');
    lines.push(
      `  step split (mean): gradients ${r.timing.gradients.toFixed(0)} ms (each worker's own: ${ms(r.timing.workerCompute)}), ` +
        `sum on main ${r.timing.sum.toFixed(0)} ms, apply ${r.timing.apply.toFixed(0)} ms (each worker's Adam: ${ms(r.timing.workerApply)})`,
    );
  }
  if (r.kernels.length > 0) {
    lines.push(`  tf.profile of one single-thread gradient step: ${totalKernelMs(r.kernels).toFixed(0)} ms kernel time (scopes not counted); top kernels:`);
    lines.push(...formatKernelTimes(r.kernels, topKernels));
  }
  return lines.join('\n');
}
