/**
 * dense(x, w, b) = x @ w + b, with a hand-written gradient.
 *
 * WHY: on tfjs-backend-wasm a matMul with a transpose flag (which the default matMul gradient
 * uses) runs ~10x slower than an explicit transpose followed by a flag-free matMul (see
 * ../../../../shared/notes/tfjs-on-this-machine.md). Same mathematics; test/model.test.ts checks
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
      return [tf.matMul(dy2, tf.transpose(ws)), tf.matMul(tf.transpose(xs), dy2)];
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
      return [tf.matMul(dy2, tf.transpose(ws)), tf.matMul(tf.transpose(xs), dy2), tf.sum(dy2, 0)];
    },
  };
}) as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

