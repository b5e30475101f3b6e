/**
 * GELU, tanh approximation (as in GPT-2/BERT): 0.5 x (1 + tanh(z)), z = c (x + a x^3), with a
 * hand-written derivative.
 *
 * WHY: autodiff through tf.pow also differentiates the exponent (log, where). And wasm's Tanh is
 * a slow scalar loop (~25x its Sigmoid on [1600, 256]; Tanh was ~12-25% of an encoder pass), so
 * the same function is computed through the identity 0.5 (1 + tanh(z)) = sigmoid(2 z):
 * gelu(x) = x sigmoid(2 z), and tanh(z) = 2 sigmoid(2 z) - 1 for the derivative.
 * test/model.test.ts checks value and derivative against the tanh formula.
 */
import * as tf from '@tensorflow/tfjs-core';
import { customGradient } from './custom-gradient.ts';

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

export const gelu = customGradient((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const x2 = tf.mul(x, x);
  // s = sigmoid(2 z) = 0.5 (1 + tanh(z))
  const s = tf.sigmoid(tf.mul(x, tf.add(tf.mul(x2, 2 * GELU_C * GELU_A), 2 * GELU_C)));
  save([x, x2, s]);
  return {
    value: tf.mul(x, s),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, x2s, ss] = saved;
      // With t = tanh(z) = 2s - 1: d/dx = 0.5(1+t) + 0.5 x (1-t^2) c (1 + 3a x^2)
      //                                  = s + 2 x s (1-s) c (1 + 3a x^2)
      const dInner = tf.add(tf.mul(x2s, 3 * GELU_A * GELU_C), GELU_C);
      const sech2Half = tf.mul(ss, tf.sub(1, ss)); // (1 - t^2) / 4
      const d = tf.add(ss, tf.mul(tf.mul(tf.mul(xs, 2), sech2Half), dInner));
      return [tf.mul(dy, d)];
    },
  };
}) as (x: tf.Tensor2D) => tf.Tensor2D;
