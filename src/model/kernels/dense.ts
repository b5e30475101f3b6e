/**
 * dense(x, w, b) = x @ w + b with tfjs's own ops and gradients.
 *
 * The bias is fused into the product (wasm's XNNPACK adds it in the same pass; a separate Add over
 * [N, out] measured ~25% on top of the matMul for the decoder's layers). The backward products
 * dX = dy w^T and dW = x^T dy carry transpose flags, which on wasm run in our kernel
 * (batch-matmul.ts) at 29-32 GFLOP/s on the reference model's [3200 x 128..384] layers: this file
 * used to hand-write the gradient with explicit transposes, because tfjs-backend-wasm's own flag
 * path is ~10x slower. The bias gradient is a sum over rows (our sum-rows.ts on wasm).
 * test/model.test.ts checks value and gradients against tf.matMul + bias.
 */
import * as tf from '@tensorflow/tfjs-core';

/** x [N, in] @ w [in, out] (+ b [out]) -> [N, out]. */
export function dense(x: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor2D {
  return (b ? tf.fused.matMul({ a: x, b: w, bias: b }) : tf.matMul(x, w)) as tf.Tensor2D;
}
