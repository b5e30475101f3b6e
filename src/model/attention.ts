/**
 * Multi-head attention on flattened activations: queries [B*T, D], keys/values [B*S, D].
 * Heads are folded into the batch axis for the score and mixing matMuls.
 */
import * as tf from '@tensorflow/tfjs-core';
import { dense, gatherRows } from './layers.ts';
import { attend } from './attention-core.ts';

export interface AttentionWeights {
  /** Query projection [D, D] (+ bias); for self-attention q, k, v are one fused [D, 3D] matrix. */
  wq?: tf.Variable;
  bq?: tf.Variable;
  wkv?: tf.Variable;
  bkv?: tf.Variable;
  wqkv?: tf.Variable;
  bqkv?: tf.Variable;
  wo: tf.Variable;
  bo: tf.Variable;
}

/** [B*T, D] -> [B*H, T, dh] */
function splitHeads(x: tf.Tensor2D, batch: number, len: number, heads: number): tf.Tensor3D {
  const dh = x.shape[1] / heads;
  return tf.reshape(tf.transpose(tf.reshape(x, [batch, len, heads, dh]), [0, 2, 1, 3]), [batch * heads, len, dh]);
}

/** [B*H, T, dh] -> [B*T, D] */
function mergeHeads(x: tf.Tensor3D, batch: number, len: number, heads: number): tf.Tensor2D {
  const dh = x.shape[2];
  return tf.reshape(tf.transpose(tf.reshape(x, [batch, heads, len, dh]), [0, 2, 1, 3]), [batch * len, heads * dh]);
}

/** Additive causal mask [T, T]: 0 on and below the diagonal, -1e9 above (later positions). */
export function causalMask(len: number): tf.Tensor2D {
  const m = new Float32Array(len * len);
  for (let i = 0; i < len; i++) for (let j = i + 1; j < len; j++) m[i * len + j] = -1e9;
  return tf.tensor2d(m, [len, len]);
}

/** Scaled dot-product attention over already-projected q [B*H,T,dh], k/v [B*H,S,dh]. */
export function scaledDotProduct(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, mask: tf.Tensor2D | null): tf.Tensor3D {
  return attend(q, k, v, mask);
}

/** Self-attention: x [B*T, D]. */
export function selfAttention(
  x: tf.Tensor2D,
  w: AttentionWeights,
  batch: number,
  len: number,
  heads: number,
  mask: tf.Tensor2D | null,
): tf.Tensor2D {
  const d = x.shape[1];
  const qkv = dense(x, w.wqkv!, w.bqkv!);
  const [q, k, v] = tf.split(qkv, [d, d, d], 1) as tf.Tensor2D[];
  const out = scaledDotProduct(splitHeads(q, batch, len, heads), splitHeads(k, batch, len, heads), splitHeads(v, batch, len, heads), mask);
  return dense(mergeHeads(out, batch, len, heads), w.wo, w.bo);
}

/**
 * Cross-attention of row r to image r: queries x [R*T, D], projected K/V `memoryKV` [R, S, 2D].
 * Several rows per image go through crossAttentionGrouped instead.
 */
export function crossAttention(
  x: tf.Tensor2D,
  memoryKV: tf.Tensor3D,
  w: AttentionWeights,
  rows: number,
  len: number,
  heads: number,
): tf.Tensor2D {
  const d = x.shape[1];
  const memLen = memoryKV.shape[1];
  const kv = tf.reshape(memoryKV, [rows * memLen, 2 * d]) as tf.Tensor2D;
  const [k, v] = tf.split(kv, [d, d], 1) as tf.Tensor2D[];
  const q = dense(x, w.wq!, w.bq!);
  const out = scaledDotProduct(splitHeads(q, rows, len, heads), splitHeads(k, rows, memLen, heads), splitHeads(v, rows, memLen, heads), null);
  return dense(mergeHeads(out, rows, len, heads), w.wo, w.bo);
}

/**
 * Where each target row sits when rows are grouped by the image they read: image i owns slots
 * [i * perImage, (i + 1) * perImage). Built on the host from memoryIndex (R small ints).
 */
export interface RowGroups {
  perImage: number;
  /** [R] slot of each target row. */
  slotOfRow: tf.Tensor1D;
  /** [B * perImage] row in each slot; empty slots repeat row 0 (their outputs are never read). */
  rowOfSlot: tf.Tensor1D;
}

export function groupRowsByImage(memoryIndex: Int32Array, images: number): RowGroups {
  const counts = new Int32Array(images);
  for (const i of memoryIndex) counts[i]++;
  const perImage = Math.max(1, ...counts);
  const slotOfRow = new Int32Array(memoryIndex.length);
  const rowOfSlot = new Int32Array(images * perImage);
  const used = new Int32Array(images);
  memoryIndex.forEach((image, row) => {
    const slot = image * perImage + used[image]++;
    slotOfRow[row] = slot;
    rowOfSlot[slot] = row;
  });
  return { perImage, slotOfRow: tf.tensor1d(slotOfRow, 'int32'), rowOfSlot: tf.tensor1d(rowOfSlot, 'int32') };
}

/**
 * Cross-attention of R target rows that read B images (R >> B in beam search and phase 2):
 * the rows of one image attend together, to that image's K/V only.
 *
 * WHY: copying each image's projected K/V [S, 2D] once per target row (a gather) moved ~100x
 * more data than the attention itself: with 16 queries x 100 beams it was 90% of decode time.
 * Gathering the queries [T, D] into per-image groups instead copies a few floats per row.
 */
export function crossAttentionGrouped(
  x: tf.Tensor2D,
  memoryKV: tf.Tensor3D,
  w: AttentionWeights,
  groups: RowGroups,
  len: number,
  heads: number,
): tf.Tensor2D {
  const d = x.shape[1];
  const rows = x.shape[0] / len;
  const [images, memLen] = memoryKV.shape;
  const slots = images * groups.perImage;
  const q = tf.reshape(dense(x, w.wq!, w.bq!), [rows, len * d]) as tf.Tensor2D;
  const qGrouped = tf.reshape(gatherRows(q, groups.rowOfSlot), [images * groups.perImage * len, d]) as tf.Tensor2D;
  const [k, v] = tf.split(tf.reshape(memoryKV, [images * memLen, 2 * d]), [d, d], 1) as tf.Tensor2D[];
  const groupLen = groups.perImage * len;
  const out = scaledDotProduct(splitHeads(qGrouped, images, groupLen, heads), splitHeads(k, images, memLen, heads), splitHeads(v, images, memLen, heads), null);
  const perSlot = tf.reshape(mergeHeads(out, images, groupLen, heads), [slots, len * d]) as tf.Tensor2D;
  const perRow = tf.reshape(gatherRows(perSlot, groups.slotOfRow), [rows * len, d]) as tf.Tensor2D;
  return dense(perRow, w.wo, w.bo);
}
