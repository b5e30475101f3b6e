/**
 * The training engine: forward + backward + Adam for one batch, on this thread or split across
 * worker threads (data parallel, see parallel.ts). The training loop only sees TrainingEngine;
 * both kinds do their work through a Learner (learner.ts).
 */
import type { ModelConfig } from '../../config/sections/model.ts';
import type { TrainConfig } from '../../config/sections/train.ts';
import { ensureGradients } from '../../runtime/gradients.ts';
import type { EngineState, ModelShape } from '../../types.ts';
import { Learner } from './learner.ts';
import { checkBatch } from './replica.ts';

export type { EngineState } from '../../types.ts';

/**
 * One optimisation step's data. Images appear once; targets point at their image, so a query
 * with many relevant IDs is encoded once and decoded for every one of them.
 */
export interface TrainBatch {
  /** imageCount x H x W x 3 uint8. */
  images: Uint8Array;
  imageCount: number;
  /** targetCount x (idLength + 1) target tokens (digits, END, PAD...). */
  targets: Int32Array;
  targetCount: number;
  /** For each target row, the index of its image in `images`. */
  targetImage: Int32Array;
}

/** Sums over a batch (so shards and epochs can be added up); divide to get means (stats.ts). */
export interface StepStats {
  /** Sum of per-token cross-entropy over non-PAD target tokens. */
  lossSum: number;
  /** Number of non-PAD target tokens. */
  tokens: number;
  tokenCorrect: number;
  /** Number of target sequences, and how many were right in every non-PAD position. */
  ids: number;
  idCorrect: number;
}

export interface EngineOptions {
  model: ModelConfig;
  train: TrainConfig;
  shape: ModelShape;
  /** Resolved tfjs backend name (see src/runtime/backend.ts). */
  backend: string;
}

export interface TrainingEngine {
  readonly backend: string;
  readonly workers: number;
  /**
   * Forward + backward + Adam update. `seed` drives dropout for this step; `learningRate`
   * (default train.learning_rate) lets each phase use its own rate.
   */
  trainStep(batch: TrainBatch, seed: number, learningRate?: number): Promise<StepStats>;
  /** Forward only, no dropout, no update (validation loss and accuracy). */
  evaluate(batch: TrainBatch): Promise<StepStats>;
  getState(): Promise<EngineState>;
  setState(state: EngineState): Promise<void>;
  dispose(): Promise<void>;
  /** Where the last trainStep's wall time went (the data-parallel engine; for `dsi bench`). */
  lastStepTiming?(): StepTiming | null;
}

/** Milliseconds of one data-parallel step, by part. */
export interface StepTiming {
  /** Until the last worker's gradients arrived on the main thread. */
  gradients: number;
  /** Each worker's own forward + backward + read-out of its gradients. */
  workerCompute: number[];
  /** Summing the workers' gradients on the main thread. */
  sum: number;
  /** Until every worker had applied the summed gradients (sending them included). */
  apply: number;
  /** Each worker's own Adam update. */
  workerApply: number[];
}

/** Resolve `train.workers` (auto|N): auto = one per core on the single-threaded backends. */
export function resolveWorkerCount(opts: Pick<EngineOptions, 'train' | 'backend'>, cores: number): number {
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
    const { createParallelEngine } = await import('./parallel.ts');
    return createParallelEngine(opts, workers);
  }
  return createSingleEngine(opts);
}

/** All work on the calling thread, on the already-initialised tfjs backend. */
export function createSingleEngine(opts: EngineOptions): TrainingEngine {
  const learner = Learner.create(opts);
  return {
    backend: opts.backend,
    workers: 1,
    async trainStep(batch, seed, learningRate) {
      checkBatch(batch, opts.shape);
      return learner.trainStep(batch, seed, learningRate);
    },
    async evaluate(batch) {
      checkBatch(batch, opts.shape);
      return learner.evaluate(batch);
    },
    getState: () => learner.getState(),
    async setState(state) {
      learner.setState(state);
    },
    async dispose() {
      learner.dispose();
    },
  };
}
