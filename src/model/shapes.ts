/**
 * Tensor dimensions, named once for the whole model:
 *   B images, P patches per image, D embed_dim, F ffn_dim, H heads, dh = D / H,
 *   R decoder (target) rows, T tokens per row (BEGIN + digits), S memory rows per image (= P).
 * Activations between blocks are 2-D [rows * positions, D]; heads are folded into the batch axis
 * ([batch * H, positions, dh]) only inside attention.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Throw when `x` does not have `shape` (a light check at block boundaries). */
export function checkShape(x: tf.Tensor, shape: readonly number[], what: string): void {
  const ok = x.shape.length === shape.length && x.shape.every((n, i) => n === shape[i]);
  if (!ok) throw new Error(`${what}: expected shape [${shape.join(', ')}], got [${x.shape.join(', ')}]`);
}

/** [batch*len, D] -> [batch*H, len, dh] */
export function splitHeads(x: tf.Tensor2D, batch: number, len: number, heads: number): tf.Tensor3D {
  const dh = x.shape[1] / heads;
  return tf.reshape(tf.transpose(tf.reshape(x, [batch, len, heads, dh]), [0, 2, 1, 3]), [batch * heads, len, dh]);
}

/** [batch*H, len, dh] -> [batch*len, D] */
export function mergeHeads(x: tf.Tensor3D, batch: number, len: number, heads: number): tf.Tensor2D {
  const dh = x.shape[2];
  return tf.reshape(tf.transpose(tf.reshape(x, [batch, heads, len, dh]), [0, 2, 1, 3]), [batch * len, heads * dh]);
}
