/**
 * attend(q, k, v, mask) = softmax(q k^T / sqrt(dh) + mask) v for G independent groups
 * (batch x heads), with tfjs's batched matMuls and their own gradients.
 *
 * On wasm the batched matMuls (forward and backward, with their transpose flags) run in our SIMD
 * kernel (batch-matmul.ts): tfjs-backend-wasm's own sends them to a ~2 GFLOP/s generic loop, and
 * splitting them into G XNNPACK 2-D products (this file's previous fast path) paid ~130 us of
 * operator set-up per product. test/model.test.ts checks value and gradients on wasm against the
 * cpu backend's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { installWasmKernels } from './wasm-kernels.ts';

/**
 * q [G,T,dh], k/v [G,S,dh], optional additive mask [T,S] -> [G,T,dh]. The scores are scaled by
 * `scale` (a number, or a learned [1] tensor), 1/sqrt(dh) by default.
 */
export function attend(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, mask: tf.Tensor2D | null, scale?: number | tf.Tensor): tf.Tensor3D {
  installWasmKernels();
  return plainAttention(q, k, v, mask, scale ?? 1 / Math.sqrt(q.shape[2]));
}

/** The mathematics, with tfjs's own batched kernels and gradients. */
export function plainAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, mask: tf.Tensor2D | null, scale: number | tf.Tensor): tf.Tensor3D {
  let scores = tf.mul(tf.matMul(q, k, false, true), scale) as tf.Tensor3D;
  if (mask) scores = tf.add(scores, mask);
  return tf.matMul(tf.softmax(scores), v);
}
