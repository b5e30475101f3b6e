/**
 * Cross-attention of one new position per row (incremental decoding) to the memory of its image.
 * The memory's keys/values are projected and split into heads ONCE per batch of images; a step
 * then reads each image's keys/values in place (nothing is copied per beam), without padding
 * rows of finished queries.
 *
 * Per image b and head h the memory gives K_bh^T [dh, S] (pre-scaled by 1/sqrt(dh)) and
 * V_bh [S, dh]; the rows of image b take, exactly attend() per head,
 *   scores = q_bh K_bh^T [n_b, S],  softmax,  out_bh = probs V_bh [n_b, dh].
 * Two ways to run that on wasm, chosen by the rows per image (measured, see
 * ../../../scripts/bench-decode.ts):
 * - many rows (wide beams): one 2-D matMul per (head, image) piece; 2-D products run at XNNPACK
 *   speed, ~10x the batched loop.
 * - few rows (K = 1 .. a few): the pieces are so small that the ~20 us cost of each kernel call
 *   (and of XNNPACK packing each new right-hand matrix on first use) dominates, and ONE batched
 *   matMul over all (head, image) pairs with rows padded to the longest run is cheaper despite
 *   its slow generic loop.
 * Measured alternative: one block-diagonal [D, H*S] key matrix per image (all heads in one 2-D
 * matMul) was ~3x slower at 90 rows per image: H times the multiply-adds and H times more to pack.
 */
import * as tf from '@tensorflow/tfjs-core';
import { linear } from '../transformer.ts';
import type { CrossAttentionWeights } from '../weights.ts';

/** Above this many rows for some image, the per-piece 2-D path; at or below, the batched one. */
export const BATCHED_MAX_ROWS = 8;

/** One decoder block's memory keys/values, per head and image (index h * images + b). */
export interface MemoryBlocks {
  /** [dh, S] per (head, image), pre-scaled by 1/sqrt(dh). */
  keys: tf.Tensor2D[];
  /** [S, dh] per (head, image). */
  values: tf.Tensor2D[];
  /** The same, stacked: [H*B, dh*S] and [H*B, S*dh] (rows gather into a batched matMul's input). */
  keysStacked: tf.Tensor2D;
  valuesStacked: tf.Tensor2D;
  images: number;
  heads: number;
  memLen: number;
}

/** memory rows [B*S, D] of B images -> the block's MemoryBlocks (project once per batch). */
export function memoryBlocks(memoryRows: tf.Tensor2D, w: CrossAttentionWeights, images: number, heads: number): MemoryBlocks {
  const [rows, d] = memoryRows.shape;
  const s = rows / images;
  const dh = d / heads;
  const [k, v] = tf.split(linear(memoryRows, w.kv), [d, d], 1) as tf.Tensor2D[];
  const byHeadImage = (x: tf.Tensor2D) => tf.reshape(x, [images, s, heads, dh]);
  const keys = tf.mul(tf.transpose(byHeadImage(k), [2, 0, 3, 1]), 1 / Math.sqrt(dh)); // [H, B, dh, S]
  const values = tf.transpose(byHeadImage(v), [2, 0, 1, 3]); // [H, B, S, dh]
  return {
    keys: tf.unstack(tf.reshape(keys, [heads * images, dh, s])) as tf.Tensor2D[],
    values: tf.unstack(tf.reshape(values, [heads * images, s, dh])) as tf.Tensor2D[],
    keysStacked: tf.reshape(keys, [heads * images, dh * s]),
    valuesStacked: tf.reshape(values, [heads * images, s * dh]),
    images,
    heads,
    memLen: s,
  };
}

/** The rows of one step grouped by the image they read, planned on the host once per step. */
export interface ImageRuns {
  /** Images with rows, ascending, and how many rows each has. */
  images: number[];
  counts: number[];
  /** Rows in image order and back (null when memoryIndex is already non-decreasing, as beam search sends it). */
  order: tf.Tensor1D | null;
  inverse: tf.Tensor1D | null;
  /** Memory index of every row. */
  memoryIndex: Int32Array;
}

export function imageRuns(memoryIndex: Int32Array, images: number): ImageRuns {
  for (const i of memoryIndex) if (!(i >= 0 && i < images)) throw new Error(`memory index ${i} is not one of the ${images} images`);
  const sortedAlready = memoryIndex.every((img, r) => r === 0 || memoryIndex[r - 1] <= img);
  const rowsInOrder = sortedAlready ? null : Int32Array.from(memoryIndex.keys()).sort((a, b) => memoryIndex[a] - memoryIndex[b] || a - b);
  const runs = { images: [] as number[], counts: [] as number[], memoryIndex };
  for (let r = 0; r < memoryIndex.length; r++) {
    const img = memoryIndex[rowsInOrder ? rowsInOrder[r] : r];
    if (runs.images[runs.images.length - 1] === img) runs.counts[runs.counts.length - 1]++;
    else (runs.images.push(img), runs.counts.push(1));
  }
  if (!rowsInOrder) return { ...runs, order: null, inverse: null };
  const inverse = new Int32Array(rowsInOrder.length);
  rowsInOrder.forEach((row, slot) => (inverse[row] = slot));
  return { ...runs, order: tf.tensor1d(rowsInOrder, 'int32'), inverse: tf.tensor1d(inverse, 'int32') };
}

/**
 * x [R, D] (normalised) -> cross-attention output [R, D] (after the output projection).
 * `path` forces one of the two ways (tests); by default the rows per image choose.
 */
export function crossAttendCached(x: tf.Tensor2D, memory: MemoryBlocks, w: CrossAttentionWeights, runs: ImageRuns, path?: 'pieces' | 'batched'): tf.Tensor2D {
  const q = linear(x, w.q);
  const batched = path ? path === 'batched' : Math.max(...runs.counts) <= BATCHED_MAX_ROWS;
  return linear(batched ? attendBatched(q, memory, runs) : attendPieces(q, memory, runs), w.out);
}

/** One 2-D matMul per (head, image) piece. q [R, D] -> [R, D] (heads merged). */
function attendPieces(q: tf.Tensor2D, memory: MemoryBlocks, runs: ImageRuns): tf.Tensor2D {
  const [rows, d] = q.shape;
  const { heads, images } = memory;
  const dh = d / heads;
  const sorted = runs.order ? (tf.gather(q, runs.order) as tf.Tensor2D) : q;
  // Heads outermost: [H*R, dh], where the rows of head h and image b are one contiguous piece.
  const qByHead = tf.reshape(tf.transpose(tf.reshape(sorted, [rows, heads, dh]), [1, 0, 2]), [heads * rows, dh]) as tf.Tensor2D;
  const pieces = Array.from({ length: heads }, (_, h) => runs.images.map((b, j) => ({ block: h * images + b, rows: runs.counts[j] }))).flat();
  const perPiece = (t: tf.Tensor2D, blocks: tf.Tensor2D[]): tf.Tensor2D => {
    const parts = tf.split(t, pieces.map((p) => p.rows), 0) as tf.Tensor2D[];
    return tf.concat(parts.map((part, i) => tf.matMul(part, blocks[pieces[i].block])), 0) as tf.Tensor2D;
  };
  const probs = tf.softmax(perPiece(qByHead, memory.keys)) as tf.Tensor2D; // [H*R, S]
  const attended = tf.reshape(tf.transpose(tf.reshape(perPiece(probs, memory.values), [heads, rows, dh]), [1, 0, 2]), [rows, d]) as tf.Tensor2D;
  return runs.inverse ? (tf.gather(attended, runs.inverse) as tf.Tensor2D) : attended;
}

/**
 * One batched matMul over the (head, image) pairs of the images that have rows, each image's
 * rows padded to the longest run (padding slots repeat a real row; their outputs are dropped).
 */
function attendBatched(q: tf.Tensor2D, memory: MemoryBlocks, runs: ImageRuns): tf.Tensor2D {
  const [rows, d] = q.shape;
  const { heads, images, memLen } = memory;
  const dh = d / heads;
  const live = runs.images.length;
  const slots = Math.max(...runs.counts);
  // Slot c of run j holds the c-th row reading image runs.images[j].
  const rowOfSlot = new Int32Array(live * slots);
  const slotOfRow = new Int32Array(rows);
  const position = new Map(runs.images.map((b, j) => [b, j]));
  const used = new Int32Array(live);
  runs.memoryIndex.forEach((b, row) => {
    const j = position.get(b)!;
    const slot = j * slots + used[j]++;
    slotOfRow[row] = slot;
    rowOfSlot[slot] = row;
  });
  for (let j = 0; j < live; j++) for (let c = runs.counts[j]; c < slots; c++) rowOfSlot[j * slots + c] = rowOfSlot[j * slots];
  const qSlots = tf.gather(q, tf.tensor1d(rowOfSlot, 'int32'));
  const qByHead = tf.reshape(tf.transpose(tf.reshape(qSlots, [live, slots, heads, dh]), [2, 0, 1, 3]), [heads * live, slots, dh]) as tf.Tensor3D;
  // Keys/values of the images with rows only (a query whose beams all finished costs nothing).
  const pick = (stacked: tf.Tensor2D) =>
    live === images ? stacked : tf.gather(stacked, tf.tensor1d(Array.from({ length: heads * live }, (_, i) => Math.floor(i / live) * images + runs.images[i % live]), 'int32'));
  const keys = tf.reshape(pick(memory.keysStacked), [heads * live, dh, memLen]) as tf.Tensor3D;
  const values = tf.reshape(pick(memory.valuesStacked), [heads * live, memLen, dh]) as tf.Tensor3D;
  const out = tf.matMul(tf.softmax(tf.matMul(qByHead, keys)), values); // [H*L, slots, dh]
  const bySlot = tf.reshape(tf.transpose(tf.reshape(out, [heads, live * slots, dh]), [1, 0, 2]), [live * slots, d]) as tf.Tensor2D;
  return tf.gather(bySlot, tf.tensor1d(slotOfRow, 'int32')) as tf.Tensor2D;
}
