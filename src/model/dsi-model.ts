/**
 * The DSI model: a ViT encoder over image patches and a decoder that writes ID tokens while
 * attending to the encoder memory (the mathematics is in transformer.ts). Pure tfjs-core ops and
 * variables; nothing backend-specific.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config/sections/model.ts';
import { sequenceLength, VOCAB_SIZE } from '../data/ids.ts';
import type { DsiModel, ForwardOptions, IncrementalDecoder, ModelShape, NamedArray } from './types.ts';
import { ParamStore } from './params.ts';
import { DropoutSeeds } from './dropout.ts';
import { positionTable } from './positional.ts';
import { decoder, encoder, type DecoderWeights, type Dims, type EncoderWeights } from './transformer.ts';
import { incrementalDecoder } from './incremental/decoder.ts';
import { installWasmKernels } from './kernels/wasm-kernels.ts';
import { decoderBlockWeights, encoderBlockWeights, layerNormWeights, linear } from './weights.ts';

function checkConfig(config: ModelConfig, shape: ModelShape): void {
  if (config.embed_dim % config.num_heads !== 0) {
    throw new Error(`model.embed_dim ${config.embed_dim} is not divisible by model.num_heads ${config.num_heads}`);
  }
  if (shape.imageSize % config.patch_size !== 0) {
    throw new Error(`image size ${shape.imageSize} is not a multiple of model.patch_size ${config.patch_size}`);
  }
  if (!(shape.idLength >= 1)) throw new Error(`idLength must be >= 1 (got ${shape.idLength})`);
}

/** Creation order is the checkpoint order and the seeded initialisation order: keep it. */
function encoderWeights(p: ParamStore, cfg: ModelConfig, patchCount: number): EncoderWeights {
  const d = cfg.embed_dim;
  const shifted = cfg.patch_tokenizer === 'shifted';
  // Shifted tokenization: the image and its four shifted copies, 15 channels (transformer.ts).
  const patchValues = cfg.patch_size * cfg.patch_size * (shifted ? 15 : 3);
  return {
    patch: linear(p, 'encoder.patch', '', patchValues, d),
    positions: positionTable(cfg.positional, p, 'encoder.positions', patchCount, d),
    blocks: Array.from({ length: cfg.encoder_layers }, (_, i) =>
      encoderBlockWeights(p, `encoder.${i}`, d, cfg.ffn_dim, cfg.num_heads, cfg.locality_attention),
    ),
    lnFinal: layerNormWeights(p, 'encoder.ln_final', d),
    // Last, so a plain model's names and seeded values are unchanged.
    patchNorm: shifted ? layerNormWeights(p, 'encoder.patch_norm', patchValues) : null,
  };
}

function decoderWeights(p: ParamStore, cfg: ModelConfig, seqLen: number): DecoderWeights {
  const d = cfg.embed_dim;
  return {
    tokenEmbedding: p.normal('decoder.token_embedding', [VOCAB_SIZE, d], 1),
    positions: positionTable(cfg.positional, p, 'decoder.positions', seqLen, d),
    blocks: Array.from({ length: cfg.decoder_layers }, (_, i) => decoderBlockWeights(p, `decoder.${i}`, d, cfg.ffn_dim)),
    lnFinal: layerNormWeights(p, 'decoder.ln_final', d),
    head: linear(p, 'decoder.head', '', d, VOCAB_SIZE),
  };
}

function build(config: ModelConfig, shape: ModelShape, params: ParamStore): DsiModel {
  checkConfig(config, shape);
  installWasmKernels();
  const patchCount = (shape.imageSize / config.patch_size) ** 2;
  const encoderW = encoderWeights(params, config, patchCount);
  const decoderW = decoderWeights(params, config, sequenceLength(shape.idLength));
  const dims: Dims = { d: config.embed_dim, heads: config.num_heads, patchSize: config.patch_size };
  // Encoder and decoder draw dropout masks from different streams of the same step seed.
  const dropout = (opts: ForwardOptions, salt: number) =>
    new DropoutSeeds(config.dropout, opts.training, ((opts.seed ?? 0) ^ salt) >>> 0);
  const model: DsiModel = {
    config,
    shape,
    variables: params.variables,
    patchCount,
    encode(images, opts) {
      const rows = encoder(images, encoderW, dims, dropout(opts, 0x51ed27));
      return tf.reshape(rows, [images.shape[0], patchCount, config.embed_dim]);
    },
    decode(memory, tokens, opts, memoryIndex) {
      return decoder(memory, tokens, memoryIndex ?? null, decoderW, dims, dropout(opts, 0x2c1b3c6d));
    },
    startDecoding(memory) {
      return incrementalDecoder(memory, decoderW, dims);
    },
    forward(images, tokens, memoryIndex, opts) {
      return model.decode(model.encode(images, opts), tokens, opts, memoryIndex ?? undefined);
    },
    dispose() {
      // Sinusoidal tables are plain tensors (learned ones are variables, disposed below).
      for (const table of [encoderW.positions, decoderW.positions]) if (!(table instanceof tf.Variable)) table.dispose();
      for (const v of params.variables.values()) v.dispose();
    },
  };
  return model;
}

/** A freshly initialised model; the same seed gives bit-identical weights on any backend. */
export function createDsiModel(config: ModelConfig, shape: ModelShape, seed: number): DsiModel {
  return build(config, shape, new ParamStore(seed));
}

/** A model holding the given weights (e.g. from a checkpoint) for inference or training. */
export function modelFromState(config: ModelConfig, shape: ModelShape, weights: NamedArray[]): DsiModel {
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
