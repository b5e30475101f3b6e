/**
 * tfjs-backend-wasm's Sum, replaced for float32 reductions over LEADING axes (a [rows, cols] view
 * summed over rows) by our SIMD kernel (wasm/sum-rows.wat, see there for why). Every other
 * reduction (innermost axes, all axes, other dtypes) stays with tfjs's kernel. Gradients are
 * tfjs's (by kernel name). test/simd-kernels.test.ts compares it with sums on the host.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, registerHeapKernels, type TensorInfo, type WasmBackend } from './wasm/heap.ts';

interface SumRowsExports {
  sumRows(x: number, out: number, rows: number, cols: number): void;
}

/** Swaps in the kernel (once per thread, with the wasm backend active). False if it cannot. */
export function installSumRows(): boolean {
  return registerHeapKernels<SumRowsExports>('sum-rows', (kernel, original) => {
    const fallback = original('Sum')!;
    return {
      Sum: (args) => {
        const x = (args.inputs as unknown as { x: TensorInfo }).x;
        const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
        const backend = args.backend as unknown as WasmBackend;
        const axes = [...tf.util.parseAxisParam(axis, x.shape)].sort((a, b) => a - b);
        const leading = axes.length > 0 && axes.length < x.shape.length && axes.every((a, i) => a === i);
        if (x.dtype !== 'float32' || !leading) return fallback(args);
        const kept = x.shape.slice(axes.length);
        const out = backend.makeOutput(keepDims ? [...axes.map(() => 1), ...kept] : kept, 'float32');
        const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
        const cols = tf.util.sizeFromShape(kept);
        if (cols > 0) kernel.sumRows(heapOffset(backend, x), heapOffset(backend, out), rows, cols);
        return out as never;
      },
    };
  });
}
