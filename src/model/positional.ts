/** Positional encodings: fixed sinusoidal tables (the reference default) or learned ones. */
import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from './params.ts';

/** Vaswani et al. table [len, dim]: sin on even, cos on odd features. */
export function sinusoidalTable(len: number, dim: number): Float32Array {
  const t = new Float32Array(len * dim);
  for (let pos = 0; pos < len; pos++) {
    for (let i = 0; i < dim; i += 2) {
      const angle = pos / Math.pow(10000, i / dim);
      t[pos * dim + i] = Math.sin(angle);
      if (i + 1 < dim) t[pos * dim + i + 1] = Math.cos(angle);
    }
  }
  return t;
}

/** A [len, dim] tensor to add to token rows: a constant for sinusoidal, a variable for learned. */
export function positionTable(
  kind: 'sinusoidal' | 'learned',
  params: ParamStore,
  name: string,
  len: number,
  dim: number,
): tf.Tensor2D {
  if (kind === 'learned') return params.normal(name, [len, dim], 0.02) as unknown as tf.Tensor2D;
  return tf.tensor2d(sinusoidalTable(len, dim), [len, dim]);
}
