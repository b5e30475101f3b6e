/**
 * The model's weights, typed exactly per block kind and created once per kind. Creation order and
 * names are the checkpoint format (and, through the seeded ParamStore, the initial values): keep
 * them stable.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from './params.ts';

export interface Linear {
  /** [in, out] */
  w: tf.Variable;
  /** [out] */
  b: tf.Variable;
}

export interface LayerNormWeights {
  g: tf.Variable;
  b: tf.Variable;
}

/** q, k, v as one fused [D, 3D] projection, then the output projection [D, D]. */
export interface SelfAttentionWeights {
  qkv: Linear;
  out: Linear;
}

/** Queries from the decoder [D, D]; keys and values from the encoder memory, fused [D, 2D]. */
export interface CrossAttentionWeights {
  q: Linear;
  kv: Linear;
  out: Linear;
}

export interface MlpWeights {
  up: Linear;
  down: Linear;
}

export interface EncoderBlockWeights {
  ln1: LayerNormWeights;
  attn: SelfAttentionWeights;
  /** [1] learned softmax scale (model.locality_attention), else null: 1/sqrt(dh). */
  attnScale: tf.Variable | null;
  ln2: LayerNormWeights;
  mlp: MlpWeights;
}

export interface DecoderBlockWeights {
  ln1: LayerNormWeights;
  self: SelfAttentionWeights;
  ln2: LayerNormWeights;
  cross: CrossAttentionWeights;
  ln3: LayerNormWeights;
  mlp: MlpWeights;
}

/** `${prefix}.w${suffix}` [in, out] (Glorot) and `${prefix}.b${suffix}` [out] (zeros). */
export function linear(p: ParamStore, prefix: string, suffix: string, fanIn: number, fanOut: number): Linear {
  return { w: p.glorot(`${prefix}.w${suffix}`, fanIn, fanOut), b: p.constant(`${prefix}.b${suffix}`, [fanOut], 0) };
}

export function layerNormWeights(p: ParamStore, prefix: string, d: number): LayerNormWeights {
  return { g: p.constant(`${prefix}.g`, [d], 1), b: p.constant(`${prefix}.b`, [d], 0) };
}

function selfAttentionWeights(p: ParamStore, prefix: string, d: number): SelfAttentionWeights {
  return { qkv: linear(p, prefix, 'qkv', d, 3 * d), out: linear(p, prefix, 'o', d, d) };
}

function crossAttentionWeights(p: ParamStore, prefix: string, d: number): CrossAttentionWeights {
  return { q: linear(p, prefix, 'q', d, d), kv: linear(p, prefix, 'kv', d, 2 * d), out: linear(p, prefix, 'o', d, d) };
}

function mlpWeights(p: ParamStore, prefix: string, d: number, ffn: number): MlpWeights {
  return { up: linear(p, `${prefix}.mlp`, '1', d, ffn), down: linear(p, `${prefix}.mlp`, '2', ffn, d) };
}

export function encoderBlockWeights(p: ParamStore, prefix: string, d: number, ffn: number, heads: number, localityAttention: boolean): EncoderBlockWeights {
  const ln1 = layerNormWeights(p, `${prefix}.ln1`, d);
  const attn = selfAttentionWeights(p, `${prefix}.attn`, d);
  // Created after the block's other weights and only when asked for, so that models without it
  // keep their checkpoint names and seeded initial values. Starts at the usual 1/sqrt(dh).
  const attnScale = localityAttention ? p.constant(`${prefix}.attn.scale`, [1], 1 / Math.sqrt(d / heads)) : null;
  return { ln1, attn, attnScale, ln2: layerNormWeights(p, `${prefix}.ln2`, d), mlp: mlpWeights(p, prefix, d, ffn) };
}

export function decoderBlockWeights(p: ParamStore, prefix: string, d: number, ffn: number): DecoderBlockWeights {
  return {
    ln1: layerNormWeights(p, `${prefix}.ln1`, d),
    self: selfAttentionWeights(p, `${prefix}.self`, d),
    ln2: layerNormWeights(p, `${prefix}.ln2`, d),
    cross: crossAttentionWeights(p, `${prefix}.cross`, d),
    ln3: layerNormWeights(p, `${prefix}.ln3`, d),
    mlp: mlpWeights(p, prefix, d, ffn),
  };
}
