/** tf.customGrad typed for functions written with named tensor arguments. */
import * as tf from '@tensorflow/tfjs-core';

export interface GradResult {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
}

/**
 * tfjs types customGrad's function as variadic over Tensor | GradSaveFunc; this wrapper lets a
 * kernel name its inputs. The returned function takes the same tensors (without `save`).
 */
export function customGradient<F extends (...args: never[]) => GradResult>(f: F): (...inputs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad(f as unknown as (...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => GradResult) as (...inputs: tf.Tensor[]) => tf.Tensor;
}
