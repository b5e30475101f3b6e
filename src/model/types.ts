/**
 * The model's contract with the engine and the decoder. The model is pure tfjs-core (no globals,
 * no backend-specific code); the training contracts are in src/train/engine/engine.ts.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config/sections/model.ts';
import type { ModelShape } from '../types.ts';

export type { ModelShape, NamedArray } from '../types.ts';

export interface ForwardOptions {
  training: boolean;
  /** Seed for dropout masks (required when training and dropout > 0, for determinism). */
  seed?: number;
}

/** The model as every stage sees it (training, evaluation, search). */
export interface DsiModel {
  readonly config: ModelConfig;
  readonly shape: ModelShape;
  /** Trainable variables by stable name (the checkpoint keys), in a stable order. */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  /** Encoder memory rows per image (P). */
  readonly patchCount: number;
  /** images [B,H,W,3] uint8 or float (0..255) -> encoder memory [B, P, embed_dim]. */
  encode(images: tf.Tensor4D, opts: ForwardOptions): tf.Tensor3D;
  /**
   * memory [B,P,D] + decoder input tokens [R,T] int32 (BEGIN + prefix) -> logits [R,T,13].
   * Without memoryIndex R = B and row i reads memory i; with it, row r reads memory
   * memoryIndex[r], so one image's memory serves many rows without being copied. A host array:
   * the decoder plans its per-image row groups from it, and reading it back from a device would stall.
   */
  decode(memory: tf.Tensor3D, tokens: tf.Tensor2D, opts: ForwardOptions, memoryIndex?: Int32Array): tf.Tensor3D;
  /**
   * Incremental decoding over memory [B,P,D] (beam search): the decoder keeps each position's
   * self-attention keys/values and projects the memory's keys/values once, instead of re-running
   * the whole prefix at every step. Same logits as decode() up to float rounding.
   */
  startDecoding(memory: tf.Tensor3D): IncrementalDecoder;
  /** Encode each image once and decode every target row: logits [R, T, 13]. */
  forward(images: tf.Tensor4D, tokens: tf.Tensor2D, memoryIndex: Int32Array | null, opts: ForwardOptions): tf.Tensor3D;
  dispose(): void;
}

export interface IncrementalDecoder {
  /** Positions written so far (0: the next step feeds BEGIN at position 0). */
  readonly length: number;
  /**
   * Feed one token per row and get the next-token logits [R, 13]. Row r continues row parents[r]
   * of the previous step (parents is ignored at the first step) and reads memory memoryIndex[r].
   * The caller disposes the logits.
   */
  step(tokens: Int32Array, parents: Int32Array | null, memoryIndex: Int32Array): tf.Tensor2D;
  /** Free the cached keys/values (not the memory, which the caller owns). */
  dispose(): void;
}
