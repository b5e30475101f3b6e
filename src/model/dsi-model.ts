/**
 * The DSI model: a ViT encoder over image patches and a decoder that writes ID tokens while
 * attending to the encoder memory. Pure tfjs-core ops and variables; nothing backend-specific.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config/sections/model.ts';
import { sequenceLength } from '../data/ids.ts';
import type { DsiModel, ForwardOptions, ModelShape, NamedArray } from './types.ts';
import { ParamStore } from './params.ts';
import { DropoutSeeds } from './layers.ts';
import { Encoder } from './encoder.ts';
import { Decoder } from './decoder.ts';

export interface DsiModelImpl extends DsiModel {
  /**
   * Additive to the DsiModel contract: `memoryIndex` [R] maps each token row to its memory row,
   * so one image's memory serves many targets without being copied. A host array: the decoder
   * plans its per-image row groups from it, and reading it back from a device would stall.
   */
  decode(memory: tf.Tensor3D, tokens: tf.Tensor2D, opts: ForwardOptions, memoryIndex?: Int32Array): tf.Tensor3D;
  /** Encode each image once and decode every target row: logits [R, T, 13]. */
  forward(images: tf.Tensor4D, tokens: tf.Tensor2D, memoryIndex: Int32Array | null, opts: ForwardOptions): tf.Tensor3D;
  readonly patchCount: number;
}

function checkConfig(config: ModelConfig, shape: ModelShape): void {
  if (config.embed_dim % config.num_heads !== 0) {
    throw new Error(`model.embed_dim ${config.embed_dim} is not divisible by model.num_heads ${config.num_heads}`);
  }
  if (shape.imageSize % config.patch_size !== 0) {
    throw new Error(`image size ${shape.imageSize} is not a multiple of model.patch_size ${config.patch_size}`);
  }
  if (!(shape.idLength >= 1)) throw new Error(`idLength must be >= 1 (got ${shape.idLength})`);
}

function build(config: ModelConfig, shape: ModelShape, params: ParamStore): DsiModelImpl {
  checkConfig(config, shape);
  const encoder = new Encoder(config, shape.imageSize, params);
  const decoder = new Decoder(config, sequenceLength(shape.idLength), params);
  // Encoder and decoder draw dropout masks from different streams of the same step seed.
  const dropout = (opts: ForwardOptions, salt: number) =>
    new DropoutSeeds(config.dropout, opts.training, ((opts.seed ?? 0) ^ salt) >>> 0);
  const model: DsiModelImpl = {
    config,
    shape,
    variables: params.variables,
    patchCount: encoder.patchCount,
    encode(images, opts) {
      const b = images.shape[0];
      const rows = encoder.forward(images, dropout(opts, 0x51ed27));
      return tf.reshape(rows, [b, encoder.patchCount, config.embed_dim]);
    },
    decode(memory, tokens, opts, memoryIndex) {
      return decoder.forward(memory, tokens, memoryIndex ?? null, dropout(opts, 0x2c1b3c6d));
    },
    forward(images, tokens, memoryIndex, opts) {
      return model.decode(model.encode(images, opts), tokens, opts, memoryIndex ?? undefined);
    },
    dispose() {
      encoder.dispose();
      decoder.dispose();
      for (const v of params.variables.values()) v.dispose();
    },
  };
  return model;
}

/** A freshly initialised model; the same seed gives bit-identical weights on any backend. */
export function createDsiModel(config: ModelConfig, shape: ModelShape, seed: number): DsiModelImpl {
  return build(config, shape, new ParamStore(seed));
}

/** A model holding the given weights (e.g. from a checkpoint) for inference or training. */
export function modelFromState(config: ModelConfig, shape: ModelShape, weights: NamedArray[]): DsiModelImpl {
  const byName = new Map<string, Float32Array>();
  for (const w of weights) {
    if (w.dtype !== 'float32') throw new Error(`weight "${w.name}" has dtype ${w.dtype}, expected float32`);
    byName.set(w.name, w.data as Float32Array);
  }
  const params = new ParamStore(0, byName);
  const model = build(config, shape, params);
  const extra = [...byName.keys()].filter((n) => !params.variables.has(n));
  if (extra.length > 0) {
    model.dispose();
    throw new Error(`weights contain parameters this model config does not have: ${extra.slice(0, 5).join(', ')}`);
  }
  return model;
}

/** Copy every variable out as plain arrays (checkpoint order = creation order). */
export async function exportWeights(variables: ReadonlyMap<string, tf.Variable>): Promise<NamedArray[]> {
  const out: NamedArray[] = [];
  for (const [name, v] of variables) {
    out.push({ name, shape: [...v.shape], dtype: 'float32', data: (await v.data()) as Float32Array });
  }
  return out;
}

/** Number of trainable values (for logs). */
export function countParameters(variables: ReadonlyMap<string, tf.Variable>): number {
  let n = 0;
  for (const v of variables.values()) n += v.size;
  return n;
}
