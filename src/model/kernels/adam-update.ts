/**
 * The fused Adam update as a tfjs kernel on the wasm backend ('DsiAdamUpdate', our SIMD kernel
 * wasm/adam.wat, see there for why): inputs param, m, v, grad; outputs the new param, m and v.
 * train/engine/adam.ts uses it when the active backend has it, and the tfjs formulation otherwise.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, registerHeapKernels, type TensorInfo, type WasmBackend } from './wasm/heap.ts';

export const ADAM_UPDATE = 'DsiAdamUpdate';

interface AdamExports {
  adam(p: number, m: number, v: number, g: number, pOut: number, mOut: number, vOut: number, n: number,
    beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, eps: number, stepSize: number,
    decay: number, gradScale: number): void;
}

export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  stepSize: number;
  /** Multiplies the parameter before the step (AdamW's 1 - lr * weight decay), 1 for none. */
  decay: number;
  /** Multiplies the gradient (global-norm clipping), 1 for none. */
  gradScale: number;
}

/** Registers the kernel (once per thread, with the wasm backend active). False if it cannot. */
export function installAdamUpdate(): boolean {
  return registerHeapKernels<AdamExports>('adam', (kernel) => ({
    [ADAM_UPDATE]: ({ inputs, attrs, backend }) => {
      const { param, m, v, grad } = inputs as unknown as Record<'param' | 'm' | 'v' | 'grad', TensorInfo>;
      const a = attrs as unknown as AdamUpdateAttrs;
      const heap = backend as unknown as WasmBackend;
      const outs = [param, m, v].map((t) => heap.makeOutput([...t.shape], 'float32'));
      const n = tf.util.sizeFromShape(param.shape);
      kernel.adam(
        heapOffset(heap, param), heapOffset(heap, m), heapOffset(heap, v), heapOffset(heap, grad),
        heapOffset(heap, outs[0]), heapOffset(heap, outs[1]), heapOffset(heap, outs[2]), n,
        a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.epsilon, a.stepSize, a.decay, a.gradScale,
      );
      return outs as never;
    },
  }));
}

/** [param', m', v'] by the fused kernel, or null when the active backend has none. */
export function adamUpdate(param: tf.Tensor, m: tf.Tensor, v: tf.Tensor, grad: tf.Tensor, attrs: AdamUpdateAttrs): tf.Tensor[] | null {
  if (!tf.getKernel(ADAM_UPDATE, tf.getBackend())) return null;
  if (param.dtype !== 'float32' || grad.dtype !== 'float32') return null;
  return tf.engine().runKernel(ADAM_UPDATE, { param, m, v, grad } as never, attrs as never) as tf.Tensor[];
}
