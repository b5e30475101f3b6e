/**
 * Building blocks on 2-D activations [rows, features]. Everything is plain tfjs-core ops so it
 * runs on any backend; the custom gradients exist for speed on wasm, where a matMul with a
 * transpose flag runs ~10x slower than an explicit transpose followed by a flag-free matMul
 * (see ../../../shared/notes/tfjs-on-this-machine.md). They compute the same mathematics.
 */
import * as tf from '@tensorflow/tfjs-core';

/** tfjs types customGrad's function as variadic; this lets us write it with named tensors. */
type GradFn = (...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] };
const named = (f: (...a: never[]) => ReturnType<GradFn>) => f as unknown as GradFn;

/** x [N, in] @ w [in, out] (+ b [out]); backward multiplies without transpose flags. */
export function dense(x: tf.Tensor2D, w: tf.Variable | tf.Tensor2D, b?: tf.Variable | tf.Tensor1D): tf.Tensor2D {
  if (b) return denseWithBias(x, w as tf.Tensor2D, b as tf.Tensor1D);
  return denseNoBias(x, w as tf.Tensor2D);
}

const denseNoBias = tf.customGrad(named((x: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as tf.Tensor2D[];
      const dy2 = dy as tf.Tensor2D;
      return [tf.matMul(dy2, tf.transpose(ws)), tf.matMul(tf.transpose(xs), dy2)];
    },
  };
})) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

const denseWithBias = tf.customGrad(named((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as tf.Tensor2D[];
      const dy2 = dy as tf.Tensor2D;
      return [tf.matMul(dy2, tf.transpose(ws)), tf.matMul(tf.transpose(xs), dy2), tf.sum(dy2, 0)];
    },
  };
})) as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/**
 * Rows of `x` picked by `index` (a target's encoder memory from its image). The default gradient
 * of gather needs UnsortedSegmentSum, which the wasm backend lacks; a one-hot matMul scatters
 * the gradient back instead (and is fast there).
 */
export function gatherRows(x: tf.Tensor2D, index: tf.Tensor1D): tf.Tensor2D {
  const rows = x.shape[0];
  const scatter = tf.customGrad(named((xs: tf.Tensor, save: tf.GradSaveFunc) => {
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
  })) as (xs: tf.Tensor2D) => tf.Tensor2D;
  return scatter(x);
}

/**
 * Float one-hot rows. tfjs-backend-wasm 4.22's OneHot kernel ignores the dtype attribute and
 * writes int32 bits into a float32 tensor (1 reads as 1.4e-45), so build int32 and cast.
 */
export function oneHotFloat(indices: tf.Tensor1D, depth: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(indices, depth), 'float32') as tf.Tensor2D;
}

/** LayerNorm over the last axis of [N, D]. */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Variable, beta: tf.Variable, eps = 1e-5): tf.Tensor2D {
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), -1, true);
  return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), gamma), beta) as tf.Tensor2D;
}

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;
/**
 * GELU, tanh approximation (as in GPT-2/BERT), with a hand-written derivative: autodiff through
 * tf.pow also differentiates the exponent (log, where) and wasm's Pow/Tanh are slow scalar loops.
 */
export const gelu = tf.customGrad(named((x: tf.Tensor, save: tf.GradSaveFunc) => {
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
})) as (x: tf.Tensor2D) => tf.Tensor2D;

/**
 * Dropout whose masks come from a per-forward seed sequence, so a training step is reproducible
 * from its seed. Identity when not training or rate is 0.
 */
export class DropoutSeeds {
  private counter = 0;
  constructor(
    readonly rate: number,
    readonly training: boolean,
    private readonly seed: number,
  ) {}

  apply<T extends tf.Tensor>(x: T): T {
    if (!this.training || this.rate <= 0) return x;
    this.counter++;
    // Distinct, reproducible seed per dropout site within the step.
    const siteSeed = (Math.imul(this.seed ^ 0x9e3779b9, 31) + Math.imul(this.counter, 0x85ebca6b)) >>> 0;
    return tf.dropout(x, this.rate, undefined, siteSeed) as T;
  }
}
