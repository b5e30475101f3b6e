/**
 * GELU, tanh approximation (as in GPT-2/BERT): 0.5 x (1 + tanh(z)), z = c (x + a x^3), with a
 * hand-written derivative.
 *
 * WHY: autodiff through tf.pow also differentiates the exponent (log, where). And wasm's Tanh is
 * a slow scalar loop (~25x its Sigmoid on [1600, 256]; Tanh was ~12-25% of an encoder pass), so
 * the same function is computed through the identity 0.5 (1 + tanh(z)) = sigmoid(2 z):
 * gelu(x) = x sigmoid(2 z), and tanh(z) = 2 sigmoid(2 z) - 1 for the derivative.
 * On wasm (size a multiple of 4) the steps around the Sigmoid are two SIMD kernels
 * (wasm/gelu.wat): 3 passes forward and 1 backward instead of 6 and ~9.
 * test/model.test.ts checks value and derivative against the tanh formula, and
 * test/simd-kernels.test.ts the wasm path against this file's tfjs ops on the cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { customGradient } from './custom-gradient.ts';
import { heapOffset, registerHeapKernels, type TensorInfo, type WasmBackend } from './wasm/heap.ts';

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

export const plainGelu = customGradient((x: tf.Tensor, save: tf.GradSaveFunc) => {
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

const INNER = 'DsiGeluInner';
const OUTER = 'DsiGeluOuter';

interface GeluExports {
  inner(x: number, out: number, n: number, k1: number, k2: number): void;
  outer(x: number, s: number, y: number, d: number, n: number, k3: number, c: number): void;
}

/** Registers both kernels (once per thread, with the wasm backend active). False if it cannot. */
export function installGelu(): boolean {
  return registerHeapKernels<GeluExports>('gelu', (kernel) => ({
    [INNER]: ({ inputs, backend }) => {
      const { x } = inputs as unknown as { x: TensorInfo };
      const heap = backend as unknown as WasmBackend;
      const out = heap.makeOutput([...x.shape], 'float32');
      kernel.inner(heapOffset(heap, x), heapOffset(heap, out), tf.util.sizeFromShape(x.shape), 2 * GELU_C * GELU_A, 2 * GELU_C);
      return out as never;
    },
    [OUTER]: ({ inputs, backend }) => {
      const { x, s } = inputs as unknown as Record<'x' | 's', TensorInfo>;
      const heap = backend as unknown as WasmBackend;
      const [y, d] = [heap.makeOutput([...x.shape], 'float32'), heap.makeOutput([...x.shape], 'float32')];
      const at = (t: TensorInfo) => heapOffset(heap, t);
      kernel.outer(at(x), at(s), at(y), at(d), tf.util.sizeFromShape(x.shape), 3 * GELU_A * GELU_C, GELU_C);
      return [y, d] as never;
    },
  }));
}

const fusedGelu = customGradient((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const inner = tf.engine().runKernel(INNER, { x } as never, {} as never) as tf.Tensor;
  const s = tf.sigmoid(inner);
  const [y, d] = tf.engine().runKernel(OUTER, { x, s } as never, {} as never) as tf.Tensor[];
  tf.dispose([inner, s]);
  save([d]);
  return { value: y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(dy, saved[0])] };
}) as (x: tf.Tensor2D) => tf.Tensor2D;

export function gelu(x: tf.Tensor2D): tf.Tensor2D {
  if (x.size % 4 === 0 && x.dtype === 'float32' && tf.getKernel(INNER, tf.getBackend())) return fusedGelu(x);
  return plainGelu(x);
}
