/**
 * Float one-hot rows. tfjs-backend-wasm 4.22's OneHot kernel ignores the dtype attribute and
 * writes int32 bits into a float32 tensor (1 reads as 1.4e-45), so build int32 and cast.
 */
import * as tf from '@tensorflow/tfjs-core';

/** indices [N] int32 -> [N, depth] float32 of 0/1. */
export function oneHotFloat(indices: tf.Tensor1D, depth: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(indices, depth), 'float32') as tf.Tensor2D;
}
