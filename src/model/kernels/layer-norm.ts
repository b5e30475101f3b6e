/**
 * LayerNorm over the last axis of [N, D]: y = (x - mean) / sqrt(var + eps) * g + b.
 *
 * On wasm (and D a multiple of 4) forward and backward are one kernel each (wasm/layer-norm.wat,
 * see there for why), joined by a custom gradient that saves the normalised rows and their
 * 1/sqrt(var + eps); elsewhere it is the same formula in tfjs ops with tfjs's gradients.
 * test/simd-kernels.test.ts compares value and gradients with the tfjs formula on the cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { customGradient } from './custom-gradient.ts';
import { heapOffset, registerHeapKernels, type TensorInfo, type WasmBackend } from './wasm/heap.ts';

const FORWARD = 'DsiLayerNorm';
const BACKWARD = 'DsiLayerNormGrad';

interface LayerNormExports {
  forward(x: number, g: number, b: number, y: number, xhat: number, rstd: number, rows: number, d: number, eps: number): void;
  backward(dy: number, xhat: number, rstd: number, g: number, dx: number, dg: number, db: number, rows: number, d: number): void;
}

/** Registers both kernels (once per thread, with the wasm backend active). False if it cannot. */
export function installLayerNorm(): boolean {
  return registerHeapKernels<LayerNormExports>('layer-norm', (kernel) => ({
    [FORWARD]: ({ inputs, attrs, backend }) => {
      const { x, g, b } = inputs as unknown as Record<'x' | 'g' | 'b', TensorInfo>;
      const heap = backend as unknown as WasmBackend;
      const [rows, d] = x.shape;
      const y = heap.makeOutput([rows, d], 'float32');
      const xhat = heap.makeOutput([rows, d], 'float32');
      const rstd = heap.makeOutput([rows], 'float32');
      const at = (t: TensorInfo) => heapOffset(heap, t);
      kernel.forward(at(x), at(g), at(b), at(y), at(xhat), at(rstd), rows, d, (attrs as unknown as { eps: number }).eps);
      return [y, xhat, rstd] as never;
    },
    [BACKWARD]: ({ inputs, backend }) => {
      const { dy, xhat, rstd, g } = inputs as unknown as Record<'dy' | 'xhat' | 'rstd' | 'g', TensorInfo>;
      const heap = backend as unknown as WasmBackend;
      const [rows, d] = dy.shape;
      const dx = heap.makeOutput([rows, d], 'float32');
      const dg = heap.makeOutput([d], 'float32');
      const db = heap.makeOutput([d], 'float32');
      const at = (t: TensorInfo) => heapOffset(heap, t);
      kernel.backward(at(dy), at(xhat), at(rstd), at(g), at(dx), at(dg), at(db), rows, d);
      return [dx, dg, db] as never;
    },
  }));
}

const fused = customGradient((x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
  const [y, xhat, rstd] = tf.engine().runKernel(FORWARD, { x, g, b } as never, { eps: EPS } as never) as tf.Tensor[];
  save([xhat, rstd, g]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xh, rs, gs] = saved;
      return tf.engine().runKernel(BACKWARD, { dy, xhat: xh, rstd: rs, g: gs } as never, {} as never) as tf.Tensor[];
    },
  };
}) as (x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D) => tf.Tensor2D;

const EPS = 1e-5;

/** The formula in tfjs ops (other backends, D not a multiple of 4, and the tests' reference). */
export function plainLayerNorm(x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D, eps = EPS): tf.Tensor2D {
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), -1, true);
  return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), g), b) as tf.Tensor2D;
}

export function layerNorm(x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D): tf.Tensor2D {
  const d = x.shape[1];
  if (d % 4 === 0 && x.dtype === 'float32' && tf.getKernel(FORWARD, tf.getBackend())) return fused(x, g, b);
  return plainLayerNorm(x, g, b);
}
