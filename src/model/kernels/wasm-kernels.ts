/**
 * BatchMatMul (batch-matmul.ts), Sum over leading axes (sum-rows.ts), the fused Adam update
 * (adam-update.ts), LayerNorm (layer-norm.ts), GELU's steps around the Sigmoid (gelu.ts), and Identity, Slice, SplitV, Unpack and GatherV2 for tfjs-backend-wasm without needless copies.
 *
 * Identity: tfjs clones every tensor it saves for the backward pass (~1250 per training step)
 * through the Identity kernel, and wasm's copies the data. Tensors are immutable, so this one
 * shares the data and counts a reference, as tfjs-backend-cpu's Identity and wasm's own Reshape do.
 *
 * Slice, SplitV and Unpack (tf.unstack): wasm's own Slice starts with backend.readSync(x), which
 * COPIES the whole input out of the wasm heap, and SplitV and Unpack call that Slice once per
 * output (unstacking 128 attention groups copied the whole tensor 128 times): splitting the fused [B*T, 3D] q|k|v
 * projection copied it three times per layer (SplitV was ~8-10% of a training step). These
 * versions view the input in the heap (as wasm's own Concat does) and copy only the slice. Same
 * values bit for bit (a copy is a copy), same gradients (tfjs's, by kernel name);
 * GatherV2 of rows (axis 0 of a matrix): wasm's is a generic per-element loop; copying whole rows
 * from a heap view measured ~6x faster for beam search's [1600 x 384] cache reordering.
 * test/model-kernels.test.ts compares them with slicing and gathering on the host.
 */
import * as tf from '@tensorflow/tfjs-core';
import { installBatchMatMul } from './batch-matmul.ts';
import { installSumRows } from './sum-rows.ts';
import { installAdamUpdate } from './adam-update.ts';
import { installLayerNorm } from './layer-norm.ts';
import { installGelu } from './gelu.ts';

interface WasmBackend {
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: tf.DataType): { dataId: object; shape: number[]; dtype: tf.DataType };
  typedArrayFromHeap(info: { shape: number[]; dtype: tf.DataType; dataId: object }): Float32Array | Int32Array;
}
type TensorInfo = { dataId: object; shape: number[]; dtype: tf.DataType };

let installed = false;

/** Swaps tfjs-backend-wasm's kernel `kernelName` for ours (registering twice under one name throws). */
function replaceWasmKernel(kernelName: string, kernelFunc: tf.KernelFunc): void {
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
}

/** Register these kernels on the wasm backend (once per thread; no-op on other backends). */
export function installWasmKernels(): void {
  if (installed || tf.getBackend() !== 'wasm') return;
  installed = true;
  installBatchMatMul();
  installSumRows();
  installAdamUpdate();
  installLayerNorm();
  installGelu();
  const original = tf.getKernel('Slice', 'wasm');
  if (!original) return;
  const fallback = original.kernelFunc;

  const slice = (x: TensorInfo, begin: number[], size: number[], backend: WasmBackend): TensorInfo => {
    const rank = x.shape.length;
    if (x.dtype === 'string' || rank > 4) {
      return fallback({ inputs: { x } as never, attrs: { begin, size } as never, backend: backend as never }) as TensorInfo;
    }
    const out = backend.makeOutput(size, x.dtype);
    if (size.some((s) => s === 0)) return out;
    // Views taken after makeOutput: allocating may grow (and so replace) the heap buffer.
    const xVals = backend.typedArrayFromHeap(x);
    const outVals = backend.typedArrayFromHeap(out);
    // Pad to 4-D. Trailing dimensions the slice takes whole merge into one contiguous run, so a
    // block of rows (splitting a matrix along axis 0) is one copy, not one per row.
    const shape = [...Array(4 - rank).fill(1), ...x.shape];
    const b = [...Array(4 - rank).fill(0), ...begin];
    const s = [...Array(4 - rank).fill(1), ...size];
    const strides = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1];
    let partial = 3;
    while (partial > 0 && s[partial] === shape[partial]) partial--;
    const run = s[partial] * strides[partial];
    // Dimensions after `partial` are whole: iterate over them once (a single step).
    const count = (dim: number) => (dim < partial ? s[dim] : 1);
    let o = 0;
    for (let i = 0; i < count(0); i++) {
      for (let j = 0; j < count(1); j++) {
        for (let k = 0; k < count(2); k++) {
          const index = [b[0] + i, b[1] + j, b[2] + k, b[3]];
          let from = 0;
          for (let dim = 0; dim <= partial; dim++) from += index[dim] * strides[dim];
          outVals.set(xVals.subarray(from, from + run), o);
          o += run;
        }
      }
    }
    return out;
  };

  replaceWasmKernel('Identity', ({ inputs, backend }) => {
    const x = (inputs as unknown as { x: TensorInfo }).x;
    (backend as unknown as WasmBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype } as never;
  });
  replaceWasmKernel('Slice', ({ inputs, attrs, backend }) => {
    const x = (inputs as unknown as { x: TensorInfo }).x;
    const { begin, size } = attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [b, s] = tf.slice_util.parseSliceParams(x as never, begin, size);
    return slice(x, b, s, backend as unknown as WasmBackend) as never;
  });
  const originalGather = tf.getKernel('GatherV2', 'wasm')!.kernelFunc;
  replaceWasmKernel('GatherV2', (args) => {
    const { x, indices } = args.inputs as unknown as { x: TensorInfo; indices: TensorInfo };
    const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
    if (x.shape.length !== 2 || axis !== 0 || batchDims || indices.shape.length !== 1 || x.dtype === 'string') return originalGather(args);
    const backend = args.backend as unknown as WasmBackend;
    const [rows, c] = x.shape;
    const out = backend.makeOutput([indices.shape[0], c], x.dtype);
    const xVals = backend.typedArrayFromHeap(x);
    const index = backend.typedArrayFromHeap(indices);
    const outVals = backend.typedArrayFromHeap(out);
    for (let r = 0; r < index.length; r++) {
      const i = index[r];
      if (!(i >= 0 && i < rows)) throw new Error(`GatherV2: the index value ${i} is not in [0, ${rows - 1}]`);
      outVals.set(xVals.subarray(i * c, (i + 1) * c), r * c);
    }
    return out as never;
  });
  replaceWasmKernel('Unpack', ({ inputs, attrs, backend }) => {
    const x = (inputs as unknown as { value: TensorInfo }).value;
    const axis = tf.util.parseAxisParam((attrs as unknown as { axis: number }).axis, x.shape)[0];
    const outShape = x.shape.filter((_, i) => i !== axis);
    const size = [...x.shape];
    size[axis] = 1;
    return Array.from({ length: x.shape[axis] }, (_, i) => {
      const begin = new Array(x.shape.length).fill(0);
      begin[axis] = i;
      const out = slice(x, begin, size, backend as unknown as WasmBackend);
      return { ...out, shape: outShape };
    }) as never;
  });
  replaceWasmKernel('SplitV', ({ inputs, attrs, backend }) => {
    const x = (inputs as unknown as { x: TensorInfo }).x;
    const { numOrSizeSplits, axis } = attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
    const a = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as never, numOrSizeSplits, a);
    const begin = new Array(x.shape.length).fill(0);
    return sizes.map((n) => {
      const size = [...x.shape];
      size[a] = n;
      const out = slice(x, [...begin], size, backend as unknown as WasmBackend);
      begin[a] += n;
      return out;
    }) as never;
  });
}
