/**
 * gatherRows(x, index) = tf.gather(x, index) along axis 0, with a gradient wasm can run and, on
 * wasm, a forward pass that copies rows on the host.
 *
 * WHY: the default gradient of gather needs UnsortedSegmentSum, which the wasm backend lacks; a
 * one-hot matMul scatters the gradient back instead (and is fast there). And wasm's GatherV2 is
 * a generic per-element loop: [1600 x 384] rows took ~6x longer than reading the tensor out,
 * copying whole rows with TypedArray.set and uploading the result.
 */
import * as tf from '@tensorflow/tfjs-core';
import { customGradient } from './custom-gradient.ts';
import { oneHotFloat } from './one-hot.ts';

/** Rows `index` of x [N, C] -> [M, C], forward only. `index` is a host array. */
export function takeRows(x: tf.Tensor2D, index: Int32Array): tf.Tensor2D {
  if (tf.getBackend() !== 'wasm') return tf.gather(x, tf.tensor1d(index, 'int32'));
  const [, c] = x.shape;
  const data = x.dataSync() as Float32Array;
  const out = new Float32Array(index.length * c);
  for (let r = 0; r < index.length; r++) out.set(data.subarray(index[r] * c, (index[r] + 1) * c), r * c);
  return tf.tensor2d(out, [index.length, c]);
}

/** x [N, C], index [M] int32 (the same values as a tensor and a host array) -> [M, C]. */
export function gatherRows(x: tf.Tensor2D, index: tf.Tensor1D, hostIndex: Int32Array): tf.Tensor2D {
  const rows = x.shape[0];
  const scatter = customGradient((xs: tf.Tensor2D, save: tf.GradSaveFunc) => {
    // Saved, not just captured: an index made inside the forward pass (the decoder's row groups)
    // would otherwise be disposed with the forward scope before the backward pass reads it.
    save([index]);
    return {
      value: takeRows(xs, hostIndex),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const scatterMatrix = tf.transpose(oneHotFloat(saved[0] as tf.Tensor1D, rows)) as tf.Tensor2D;
        return [tf.matMul(scatterMatrix, dy as tf.Tensor2D)];
      },
    };
  }) as (xs: tf.Tensor2D) => tf.Tensor2D;
  return scatter(x);
}
