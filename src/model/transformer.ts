/**
 * The transformer as mathematics: pre-LayerNorm blocks, the ViT encoder over image patches and
 * the ID decoder over tokens. Dimension names are in shapes.ts; activations between blocks are
 * [rows * positions, D]. The few operations with a backend-specific implementation (dense, GELU,
 * attention, attention grouped by image, one-hot) come from kernels/, each tested equal to the
 * formula it stands for.
 *
 *   encoder block:  x = x + Attn(LN(x));            x = x + MLP(LN(x))
 *   decoder block:  x = x + CausalAttn(LN(x));      x = x + CrossAttn(LN(x), memory);
 *                   x = x + MLP(LN(x))
 *   MLP(x) = W2 GELU(W1 x + b1) + b2;   Attn = softmax(Q K^T / sqrt(dh) + mask) V, per head
 */
import * as tf from '@tensorflow/tfjs-core';
import { VOCAB_SIZE } from '../data/ids.ts';
import { DropoutSeeds } from './dropout.ts';
import { attend } from './kernels/attention.ts';
import { attendByImage, groupRowsByImage, type RowGroups } from './kernels/attention-by-image.ts';
import { dense } from './kernels/dense.ts';
import { gelu } from './kernels/gelu.ts';
import { layerNorm as fusedLayerNorm } from './kernels/layer-norm.ts';
import { oneHotFloat } from './kernels/one-hot.ts';
import { checkShape, mergeHeads, splitHeads } from './shapes.ts';
import type { CrossAttentionWeights, DecoderBlockWeights, EncoderBlockWeights, LayerNormWeights, Linear, MlpWeights, SelfAttentionWeights } from './weights.ts';

export interface EncoderWeights {
  /** [p*p*3, D], or [p*p*15, D] with shifted patch tokenization */
  patch: Linear;
  /** LayerNorm over each flattened patch before the projection (shifted tokenization), else null. */
  patchNorm: LayerNormWeights | null;
  /** [P, D]: a learned variable or a fixed sinusoidal table. */
  positions: tf.Tensor2D;
  blocks: EncoderBlockWeights[];
  lnFinal: LayerNormWeights;
}

export interface DecoderWeights {
  /** [13, D] */
  tokenEmbedding: tf.Variable;
  /** [T, D] */
  positions: tf.Tensor2D;
  blocks: DecoderBlockWeights[];
  lnFinal: LayerNormWeights;
  /** [D, 13] */
  head: Linear;
}

export interface Dims {
  /** embed_dim */
  d: number;
  heads: number;
  patchSize: number;
}

// ---- layers ---------------------------------------------------------------------------------

/** x [N, in] -> x w + b [N, out] */
export const linear = (x: tf.Tensor2D, l: Linear): tf.Tensor2D => dense(x, l.w as tf.Tensor as tf.Tensor2D, l.b as tf.Tensor as tf.Tensor1D);

/** LayerNorm over the last axis of [N, D]. */
export function layerNorm(x: tf.Tensor2D, w: LayerNormWeights): tf.Tensor2D {
  return fusedLayerNorm(x, w.g as tf.Tensor as tf.Tensor1D, w.b as tf.Tensor as tf.Tensor1D);
}

export function mlp(x: tf.Tensor2D, w: MlpWeights, drop: DropoutSeeds): tf.Tensor2D {
  return linear(drop.apply(gelu(linear(x, w.up))), w.down);
}

/** Additive causal mask [T, T]: 0 on and below the diagonal, -1e9 above (later positions). */
export function causalMask(len: number): tf.Tensor2D {
  const m = new Float32Array(len * len);
  for (let i = 0; i < len; i++) for (let j = i + 1; j < len; j++) m[i * len + j] = -1e9;
  return tf.tensor2d(m, [len, len]);
}

/** Additive mask [n, n]: -1e9 on the diagonal (locality self-attention: no token attends to itself). */
export function diagonalMask(n: number): tf.Tensor2D {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = -1e9;
  return tf.tensor2d(m, [n, n]);
}

/**
 * x [batch*len, D] attends to itself (heads split inside). `scale` multiplies the scores: a learned
 * [1] variable (locality self-attention) or, when omitted, 1/sqrt(dh).
 */
export function selfAttention(
  x: tf.Tensor2D,
  w: SelfAttentionWeights,
  batch: number,
  len: number,
  heads: number,
  mask: tf.Tensor2D | null,
  scale?: tf.Tensor,
): tf.Tensor2D {
  const d = x.shape[1];
  const [q, k, v] = tf.split(linear(x, w.qkv), [d, d, d], 1) as tf.Tensor2D[];
  const out = attend(splitHeads(q, batch, len, heads), splitHeads(k, batch, len, heads), splitHeads(v, batch, len, heads), mask, scale);
  return linear(mergeHeads(out, batch, len, heads), w.out);
}

/** Keys and values of the encoder memory for one decoder block: memory [B*S, D] -> k, v [B*S, D]. */
export function memoryKeysValues(memoryRows: tf.Tensor2D, w: CrossAttentionWeights): { k: tf.Tensor2D; v: tf.Tensor2D } {
  const d = memoryRows.shape[1];
  const [k, v] = tf.split(linear(memoryRows, w.kv), [d, d], 1) as tf.Tensor2D[];
  return { k, v };
}

/**
 * x [R*T, D] attends to the memory of its image: row r to image r (groups null, R = B), or to
 * image memoryIndex[r] (grouped by image, see kernels/attention-by-image.ts).
 */
export function crossAttention(
  x: tf.Tensor2D,
  memory: { k: tf.Tensor2D; v: tf.Tensor2D },
  w: CrossAttentionWeights,
  groups: RowGroups | null,
  len: number,
  heads: number,
): tf.Tensor2D {
  const q = linear(x, w.q);
  let attended: tf.Tensor2D;
  if (groups) {
    attended = attendByImage(q, memory.k, memory.v, groups, len, heads);
  } else {
    const rows = x.shape[0] / len;
    const memLen = memory.k.shape[0] / rows;
    const out = attend(splitHeads(q, rows, len, heads), splitHeads(memory.k, rows, memLen, heads), splitHeads(memory.v, rows, memLen, heads), null);
    attended = mergeHeads(out, rows, len, heads);
  }
  return linear(attended, w.out);
}

// ---- blocks ---------------------------------------------------------------------------------

/** x [B*P, D] -> [B*P, D]; mask: the diagonal mask with locality self-attention, else null. */
export function encoderBlock(x: tf.Tensor2D, w: EncoderBlockWeights, images: number, patches: number, heads: number, mask: tf.Tensor2D | null, drop: DropoutSeeds): tf.Tensor2D {
  const scale = w.attnScale ?? undefined;
  x = tf.add(x, drop.apply(selfAttention(layerNorm(x, w.ln1), w.attn, images, patches, heads, mask, scale)));
  return tf.add(x, drop.apply(mlp(layerNorm(x, w.ln2), w.mlp, drop)));
}

/** x [R*T, D], memory K/V [B*S, D] each -> [R*T, D] */
export function decoderBlock(
  x: tf.Tensor2D,
  memory: { k: tf.Tensor2D; v: tf.Tensor2D },
  w: DecoderBlockWeights,
  groups: RowGroups | null,
  rows: number,
  len: number,
  heads: number,
  mask: tf.Tensor2D,
  drop: DropoutSeeds,
): tf.Tensor2D {
  x = tf.add(x, drop.apply(selfAttention(layerNorm(x, w.ln1), w.self, rows, len, heads, mask)));
  x = tf.add(x, drop.apply(crossAttention(layerNorm(x, w.ln2), memory, w.cross, groups, len, heads)));
  return tf.add(x, drop.apply(mlp(layerNorm(x, w.ln3), w.mlp, drop)));
}

// ---- stacks ---------------------------------------------------------------------------------

/** uint8/float 0..255 [B,H,W,C] -> rows of flattened patches [B*P, p*p*C]; pixels in -1..1 for C = 3. */
export function patchify(images: tf.Tensor4D, patchSize: number): tf.Tensor2D {
  const [b, h, , c] = images.shape;
  const n = h / patchSize;
  // Normalising inside the model keeps callers (train, eval, search) from disagreeing on it.
  const x = c === 3 ? tf.sub(tf.div(tf.cast(images, 'float32'), 127.5), 1) : images;
  const grid = tf.reshape(x, [b, n, patchSize, n, patchSize, c]);
  return tf.reshape(tf.transpose(grid, [0, 1, 3, 2, 4, 5]), [b * n * n, patchSize * patchSize * c]);
}

/**
 * Shifted patch tokenization's input (Lee et al. 2021, "Vision Transformer for Small-Size
 * Datasets"): the image (-1..1) and four copies shifted by half a patch towards each corner (zeros
 * where they move in), stacked on the channel axis: [B,H,W,3] -> [B,H,W,15]. Each patch then also
 * sees its neighbours' nearest pixels, the locality a small-data ViT otherwise has to learn.
 */
export function shiftedImages(images: tf.Tensor4D, patchSize: number): tf.Tensor4D {
  const [b, h, wd] = images.shape;
  const s = Math.floor(patchSize / 2);
  const x = tf.sub(tf.div(tf.cast(images, 'float32'), 127.5), 1);
  const padded = tf.pad(x, [[0, 0], [s, s], [s, s], [0, 0]]);
  // Window origin (dy, dx) in the padded image: 0 shows content moved down/right, 2s up/left.
  const shifts: Array<[number, number]> = [[0, 0], [0, 2 * s], [2 * s, 0], [2 * s, 2 * s]];
  const copies = shifts.map(([dy, dx]) => tf.slice(padded, [0, dy, dx, 0], [b, h, wd, 3]));
  return tf.concat([x, ...copies], 3) as tf.Tensor4D;
}

/** images [B,H,W,3] -> memory rows [B*P, D]. */
export function encoder(images: tf.Tensor4D, w: EncoderWeights, dims: Dims, drop: DropoutSeeds): tf.Tensor2D {
  const b = images.shape[0];
  const [p, d] = w.positions.shape;
  const patches = w.patchNorm
    ? layerNorm(patchify(shiftedImages(images, dims.patchSize), dims.patchSize), w.patchNorm)
    : patchify(images, dims.patchSize);
  const embedded = linear(patches, w.patch);
  let x = tf.reshape(tf.add(tf.reshape(embedded, [b, p, d]), w.positions), [b * p, d]) as tf.Tensor2D;
  x = drop.apply(x);
  const mask = w.blocks[0]?.attnScale ? diagonalMask(p) : null;
  for (const blk of w.blocks) {
    x = encoderBlock(x, blk, b, p, dims.heads, mask, drop);
    checkShape(x, [b * p, d], 'encoder block output');
  }
  return layerNorm(x, w.lnFinal);
}

/** tokens [R, T] int32 -> embedded rows [R*T, D] (token embedding + positions). */
export function embedTokens(tokens: tf.Tensor2D, w: DecoderWeights, positions: tf.Tensor2D): tf.Tensor2D {
  const [rows, len] = tokens.shape;
  const d = positions.shape[1];
  // Embedding as a one-hot matMul: its gradient is a plain matMul (gather's needs a kernel wasm lacks).
  const oneHot = oneHotFloat(tf.reshape(tokens, [rows * len]) as tf.Tensor1D, VOCAB_SIZE);
  const embedded = tf.reshape(dense(oneHot, w.tokenEmbedding as tf.Tensor as tf.Tensor2D), [rows, len, d]);
  return tf.reshape(tf.add(embedded, positions), [rows * len, d]) as tf.Tensor2D;
}

/**
 * memory [B, S, D]; tokens [R, T] int32; memoryIndex [R] (target row -> image), or null when
 * R == B and row i reads image i. -> logits [R, T, 13].
 */
export function decoder(memory: tf.Tensor3D, tokens: tf.Tensor2D, memoryIndex: Int32Array | null, w: DecoderWeights, dims: Dims, drop: DropoutSeeds): tf.Tensor3D {
  const [images, memLen, d] = memory.shape;
  const [rows, len] = tokens.shape;
  const maxLen = w.positions.shape[0];
  if (len > maxLen) throw new Error(`decoder input has ${len} tokens, the model was built for at most ${maxLen}`);
  if (!memoryIndex && rows !== images) throw new Error(`decode: ${rows} token rows but ${images} memory rows and no memoryIndex`);
  const mask = causalMask(len);
  const positions = len === maxLen ? w.positions : tf.slice(w.positions, [0, 0], [len, d]);
  let x = drop.apply(embedTokens(tokens, w, positions));
  const memoryRows = tf.reshape(memory, [images * memLen, d]) as tf.Tensor2D;
  // Several target rows per image (beam search, phase 2): attend in per-image groups so each
  // image's K/V is used in place instead of being copied once per row.
  const groups = memoryIndex ? groupRowsByImage(memoryIndex, images) : null;
  for (const blk of w.blocks) {
    x = decoderBlock(x, memoryKeysValues(memoryRows, blk.cross), blk, groups, rows, len, dims.heads, mask, drop);
    checkShape(x, [rows * len, d], 'decoder block output');
  }
  const logits = linear(layerNorm(x, w.lnFinal), w.head);
  return tf.reshape(logits, [rows, len, VOCAB_SIZE]);
}
