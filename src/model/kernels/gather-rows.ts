/**
 * gatherRows(x, index) = tf.gather(x, index) along axis 0, with a gradient wasm can run.
 *
 * WHY: the default gradient of gather needs UnsortedSegmentSum, which the wasm backend lacks; a
 * one-hot matMul scatters the gradient back instead (and is fast there). The forward gather of
 * rows is fast on wasm with wasm-kernels.ts's GatherV2.
 */
import * as tf from '@tensorflow/tfjs-core';
import { customGradient } from './custom-gradient.ts';
import { oneHotFloat } from './one-hot.ts';

/** x [N, C], index [M] int32 -> [M, C]. */
export function gatherRows(x: tf.Tensor2D, index: tf.Tensor1D): tf.Tensor2D {
  const rows = x.shape[0];
  const scatter = customGradient((xs: tf.Tensor2D, save: tf.GradSaveFunc) => {
    // Saved, not just captured: an index made inside the forward pass (the decoder's row groups)
    // would otherwise be disposed with the forward scope before the backward pass reads it.
    save([index]);
    return {
      value: tf.gather(xs, index),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const scatterMatrix = tf.transpose(oneHotFloat(saved[0] as tf.Tensor1D, rows)) as tf.Tensor2D;
        return [tf.matMul(scatterMatrix, dy as tf.Tensor2D)];
      },
    };
  }) as (xs: tf.Tensor2D) => tf.Tensor2D;
  return scatter(x);
}
