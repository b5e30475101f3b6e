/**
 * Causal self-attention of one new position per row over the cached keys/values of the positions
 * before it (incremental decoding). A row attends to at most T <= 8 positions, so instead of
 * R*H batched [1 x dh] x [dh x t] matMuls (wasm's slow generic loop) the scores are elementwise
 * products summed per head by one 2-D matMul, and the values are weighted the same way.
 *
 * The cache is position-major, [t*R, D] (rows j*R..j*R+R-1 hold position j, heads not split):
 * reordering beams is one row gather and appending a position one contiguous concat (a concat
 * along columns copies row by row on wasm).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface SelfCache {
  /** [t*R, D]: keys of positions 0..t-1, position-major. */
  k: tf.Tensor2D;
  /** [t*R, D] */
  v: tf.Tensor2D;
}

/** [D, H] with `value` where feature f belongs to head h (f in [h*dh, (h+1)*dh)), else 0. */
function headIndicator(d: number, heads: number, value: number): tf.Tensor2D {
  const m = new Float32Array(d * heads);
  const dh = d / heads;
  for (let f = 0; f < d; f++) m[f * heads + Math.floor(f / dh)] = value;
  return tf.tensor2d(m, [d, heads]);
}

/** Row j*R + r of the reordered cache is row j*R0 + parents[r] of the old one (R0 old rows). */
function reorderIndex(parents: Int32Array, positions: number, oldRows: number): tf.Tensor1D {
  const rows = parents.length;
  const index = new Int32Array(positions * rows);
  for (let j = 0; j < positions; j++) for (let r = 0; r < rows; r++) index[j * rows + r] = j * oldRows + parents[r];
  return tf.tensor1d(index, 'int32');
}

/**
 * q, k, v [R, D] of the new position; past: the cache of the previous step, whose row
 * parents[r] row r continues (null at position 0). -> attended values [R, D] (heads merged,
 * before the output projection) and the cache including the new position.
 */
export function selfAttendCached(
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  past: (SelfCache & { length: number }) | null,
  parents: Int32Array | null,
  heads: number,
): { out: tf.Tensor2D; cache: SelfCache } {
  const [rows, d] = q.shape;
  let cache: SelfCache = { k, v };
  if (past) {
    const index = reorderIndex(parents!, past.length, past.k.shape[0] / past.length);
    const extend = (old: tf.Tensor2D, now: tf.Tensor2D) => tf.concat([tf.gather(old, index), now], 0) as tf.Tensor2D;
    cache = { k: extend(past.k, k), v: extend(past.v, v) };
  }
  const len = cache.k.shape[0] / rows;
  // One position: softmax over a single score is exactly 1, the output exactly v.
  if (len === 1) return { out: v, cache };
  const dh = d / heads;
  const products = tf.reshape(tf.mul(tf.reshape(cache.k, [len, rows, d]), tf.reshape(q, [1, rows, d])), [len * rows, d]) as tf.Tensor2D;
  const scores = tf.reshape(tf.matMul(products, headIndicator(d, heads, 1 / Math.sqrt(dh))), [len, rows * heads]);
  // Softmax over positions (axis 0): moved last for tf.softmax, then back. [len, R*H] is small.
  const probs = tf.transpose(tf.softmax(tf.transpose(scores)));
  const weights = tf.matMul(tf.reshape(probs, [len * rows, heads]) as tf.Tensor2D, tf.transpose(headIndicator(d, heads, 1)));
  const weighted = tf.mul(weights, cache.v);
  return { out: tf.sum(tf.reshape(weighted, [len, rows, d]), 0) as tf.Tensor2D, cache };
}
