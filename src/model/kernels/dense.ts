/**
 * dense(x, w, b) = x @ w + b, with a hand-written gradient.
 *
 * WHY: each of the two backward products goes where it is fastest on tfjs-backend-wasm, measured
 * on the reference model's [3200 x 128..384] layers: dX = dy w^T with the transpose flag (our
 * kernel, batch-matmul.ts, ~10-25% faster than transposing w first), dW = x^T dy as an explicit
 * transpose then XNNPACK's flag-free product (~10% faster than the flag). tfjs's default gradient
 * would send both flags to XNNPACK, ~10x slower. Same mathematics; test/model.test.ts checks
 * value and gradients against tf.matMul + bias.
 */
import * as tf from '@tensorflow/tfjs-core';
import { customGradient } from './custom-gradient.ts';

/** x [N, in] @ w [in, out] (+ b [out]) -> [N, out]. */
export function dense(x: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor2D {
  return b ? denseWithBias(x, w, b) : denseNoBias(x, w);
}

const denseNoBias = customGradient((x: tf.Tensor2D, w: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as tf.Tensor2D[];
      const dy2 = dy as tf.Tensor2D;
      return [tf.matMul(dy2, ws, false, true), tf.matMul(tf.transpose(xs), dy2)];
    },
  };
}) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

const denseWithBias = customGradient((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    // Bias fused into the product: wasm's XNNPACK adds it in the same pass (a separate Add over
    // [N, out] measured ~25% on top of the matMul for the decoder's layers).
    value: tf.fused.matMul({ a: x, b: w, bias: b }),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as tf.Tensor2D[];
      const dy2 = dy as tf.Tensor2D;
      return [tf.matMul(dy2, ws, false, true), tf.matMul(tf.transpose(xs), dy2), tf.sum(dy2, 0)];
    },
  };
}) as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

