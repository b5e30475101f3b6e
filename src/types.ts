/**
 * The records that cross stages, in one place. Each stage imports what it hands on or receives
 * from here, never from the stage that happens to produce it first.
 *
 *   data  -> Corpus, ImageRecord (defined with the data stage that builds them, re-exported here)
 *   model -> ModelShape, NamedArray (a model's weights as plain arrays)
 *   train -> EngineState, TrainerState (what a checkpoint holds, written and read by src/runs)
 *   decode, bovw -> RankedList (read by eval)
 */
export type { Corpus, ImageRecord, SkippedFile } from './data/types.ts';

/** What a model's input and output sizes depend on besides its config (both come from the corpus). */
export interface ModelShape {
  /** Side of the square input images (pixels). */
  imageSize: number;
  /** Digits of the longest ID; token sequences are idLength + 1 long (digits + END). */
  idLength: number;
}

/** One tensor as plain data: checkpoint files, messages to worker threads. */
export interface NamedArray {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

/** A ranking for one query: indexed-image IDs best first, with the score that ranked them. */
export interface RankedList {
  ids: number[];
  scores: number[];
}

/** Everything an engine needs to continue training bit-for-bit: weights and optimizer slots. */
export interface EngineState {
  weights: NamedArray[];
  optimizer: NamedArray[];
  /** Optimizer steps taken so far. */
  step: number;
}

export type TrainerPhase = 'indexing' | 'retrieval' | 'done';

/** Everything besides the engine state needed to continue a run exactly (trainer.json). */
export interface TrainerState {
  /** The phase the run continues in ('done' once both phases are over). */
  phase: TrainerPhase;
  /** Epochs completed in `phase`. */
  epoch: number;
  /** Optimizer steps completed over the whole run. */
  step: number;
  /** State of the Rng that drives shuffling, ID sampling and per-step dropout seeds. */
  rngState: number;
  /** Consecutive phase-1 epochs with exact-ID training accuracy >= train.early_stop_accuracy. */
  earlyStopStreak: number;
  /** Epochs phase 1 ran (set when it ends). */
  indexingEpochsRun: number | null;
  /** Exact-ID accuracy over all indexed images in eval mode after phase 1 (= greedy IA@1). */
  indexingAccuracy: number | null;
  /**
   * The kept phase-2 epoch (1-based) and its val loss: the lowest so far under
   * train.select_on=val_loss, the kept epoch's under val_p10.
   */
  bestValLoss: number | null;
  bestEpoch: number | null;
  /**
   * train.select_on=val_p10: the kept epoch's val P@10 and IA@1, which later epochs must beat
   * (see isBetterRetrieval). Absent from checkpoints written before the option existed.
   */
  bestValP10?: number | null;
  bestIa?: number | null;
  /** Seconds spent in training and validation passes so far, across resumes. */
  wallTimeS: number;
}
