/**
 * GELU, tanh approximation (as in GPT-2/BERT): 0.5 x (1 + tanh(c (x + a x^3))), with a
 * hand-written derivative.
 *
 * WHY: autodiff through tf.pow also differentiates the exponent (log, where) and wasm's Pow/Tanh
 * are slow scalar loops. test/model.test.ts checks value and derivative against the formula.
 */
import * as tf from '@tensorflow/tfjs-core';
import { customGradient } from './custom-gradient.ts';

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

export const gelu = customGradient((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const x2 = tf.mul(x, x);
  const t = tf.tanh(tf.mul(x, tf.add(tf.mul(x2, GELU_C * GELU_A), GELU_C)));
  save([x, x2, t]);
  return {
    value: tf.mul(tf.mul(x, 0.5), tf.add(t, 1)),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, x2s, ts] = saved;
      // d/dx = 0.5(1+t) + 0.5 x (1-t^2) c (1 + 3a x^2)
      const dInner = tf.add(tf.mul(x2s, 3 * GELU_A * GELU_C), GELU_C);
      const sech2 = tf.sub(1, tf.mul(ts, ts));
      const d = tf.add(tf.mul(tf.add(ts, 1), 0.5), tf.mul(tf.mul(tf.mul(xs, 0.5), sech2), dInner));
      return [tf.mul(dy, d)];
    },
  };
}) as (x: tf.Tensor2D) => tf.Tensor2D;
