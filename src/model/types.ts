/**
 * The model's contract with the engine and the decoder. The model is pure tfjs-core (no globals,
 * no backend-specific code); the training contracts are in src/train/engine/types.ts.
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

export interface DsiModel {
  readonly config: ModelConfig;
  readonly shape: ModelShape;
  /** Trainable variables by stable name (the checkpoint keys), in a stable order. */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  /** images [B,H,W,3] uint8 or float (0..255) -> encoder memory [B, patches, embed_dim]. */
  encode(images: tf.Tensor4D, opts: ForwardOptions): tf.Tensor3D;
  /** memory [B,P,D] + decoder input tokens [B,T] int32 (BEGIN + prefix) -> logits [B,T,13]. */
  decode(memory: tf.Tensor3D, tokens: tf.Tensor2D, opts: ForwardOptions): tf.Tensor3D;
  dispose(): void;
}
