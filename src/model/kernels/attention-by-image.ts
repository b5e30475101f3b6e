/**
 * Cross-attention of R target rows that read B images (R >> B in beam search and phase 2): the
 * rows of one image attend together, to that image's keys/values only.
 *
 * The mathematics is per row: row r attends to the memory of image memoryIndex[r], i.e.
 * attend(q_r, k[memoryIndex[r]], v[memoryIndex[r]]). Written that way (gather the K/V of each
 * row's image) it copies each image's [S, D] keys and values once per row: with 16 queries x 100
 * beams that copy was 90% of decode time. Gathering the queries [T, D] into per-image groups
 * instead copies a few floats per row. test/model.test.ts checks both give the same logits.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mergeHeads, splitHeads } from '../shapes.ts';
import { attend } from './attention.ts';
import { gatherRows } from './gather-rows.ts';

/**
 * Where each target row sits when rows are grouped by the image they read: image i owns slots
 * [i * perImage, (i + 1) * perImage). Built on the host from memoryIndex (R small ints).
 */
export interface RowGroups {
  images: number;
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
  return {
    images,
    perImage,
    slotOfRow: tf.tensor1d(slotOfRow, 'int32'),
    rowOfSlot: tf.tensor1d(rowOfSlot, 'int32'),
  };
}

/**
 * Projected queries q [R*T, D] (T positions per row), keys/values k, v [B*S, D] -> attended
 * values [R*T, D] (heads merged, before the output projection).
 */
export function attendByImage(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, groups: RowGroups, len: number, heads: number): tf.Tensor2D {
  const d = q.shape[1];
  const rows = q.shape[0] / len;
  const { images, perImage } = groups;
  const memLen = k.shape[0] / images;
  const slots = images * perImage;
  const groupLen = perImage * len;
  const qGrouped = tf.reshape(gatherRows(tf.reshape(q, [rows, len * d]) as tf.Tensor2D, groups.rowOfSlot), [slots * len, d]) as tf.Tensor2D;
  const out = attend(splitHeads(qGrouped, images, groupLen, heads), splitHeads(k, images, memLen, heads), splitHeads(v, images, memLen, heads), null);
  const perSlot = tf.reshape(mergeHeads(out, images, groupLen, heads), [slots, len * d]) as tf.Tensor2D;
  return tf.reshape(gatherRows(perSlot, groups.slotOfRow), [rows * len, d]) as tf.Tensor2D;
}
