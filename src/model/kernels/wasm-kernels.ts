/**
 * Installs our replacements of tfjs-backend-wasm kernels: the SIMD ones in their own files
 * (BatchMatMul: batch-matmul.ts, Sum over leading axes: sum-rows.ts, the fused Adam update:
 * adam-update.ts, LayerNorm: layer-norm.ts, GELU's steps around the Sigmoid: gelu.ts), and here
 * Identity, Slice, SplitV, Unpack, Concat and GatherV2 without needless copies.
 *
 * Identity: tfjs clones every tensor it saves for the backward pass (~1250 per training step)
 * through the Identity kernel, and wasm's copies the data. Tensors are immutable, so this one
 * shares the data and counts a reference, as tfjs-backend-cpu's Identity and wasm's own Reshape do.
 *
 * Slice, SplitV and Unpack (tf.unstack): wasm's own Slice starts with backend.readSync(x), which
 * COPIES the whole input out of the wasm heap, and SplitV and Unpack call that Slice once per
 * output (unstacking 128 attention groups copied the whole tensor 128 times). These versions copy
 * only the slice, its rows in one strided wasm copy (wasm/copy-rows.wat: JS TypedArray.set per
 * row took ~4 ms to split a [3200 x 384] q|k|v projection in three); Concat (wasm's copies each
 * row with TypedArray.set too) is the same strided copy, once per input. Same values bit for bit
 * (a copy is a copy), same gradients (tfjs's, by kernel name).
 * GatherV2 of rows (axis 0 of a matrix): wasm's is a generic per-element loop; copying whole rows
 * from a heap view measured ~6x faster for beam search's [1600 x 384] cache reordering.
 * test/model-kernels.test.ts compares them with slicing, joining and gathering on the host.
 */
import * as tf from '@tensorflow/tfjs-core';
import { installBatchMatMul } from './batch-matmul.ts';
import { installSumRows } from './sum-rows.ts';
import { installAdamUpdate } from './adam-update.ts';
import { installLayerNorm } from './layer-norm.ts';
import { installGelu } from './gelu.ts';
import { heapOffset, instantiateOnHeap, type WasmBackend as HeapBackend } from './wasm/heap.ts';

interface WasmBackend extends HeapBackend {
  incRef(dataId: object): void;
  typedArrayFromHeap(info: { shape: number[]; dtype: tf.DataType; dataId: object }): Float32Array | Int32Array | Uint8Array;
}

interface CopyRowsExports {
  copyRows(src: number, dst: number, rows: number, srcStride: number, dstStride: number, bytes: number): void;
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
  const copy = instantiateOnHeap<CopyRowsExports>(tf.backend() as unknown as HeapBackend, 'copy-rows');
  if (!original || !copy) return;
  const fallback = original.kernelFunc;

  const slice = (x: TensorInfo, begin: number[], size: number[], backend: WasmBackend): TensorInfo => {
    const rank = x.shape.length;
    if (x.dtype === 'string' || rank > 4) {
      return fallback({ inputs: { x } as never, attrs: { begin, size } as never, backend: backend as never }) as TensorInfo;
    }
    const out = backend.makeOutput(size, x.dtype);
    if (size.some((s) => s === 0)) return out;
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
    // The innermost loop (count(2) runs of `run` elements, strides[2] apart) is one wasm call.
    const bytes = backend.typedArrayFromHeap(x).BYTES_PER_ELEMENT;
    const [xBase, outBase] = [heapOffset(backend, x), heapOffset(backend, out)];
    let o = 0;
    for (let i = 0; i < count(0); i++) {
      for (let j = 0; j < count(1); j++) {
        const index = [b[0] + i, b[1] + j, b[2], b[3]];
        let from = 0;
        for (let dim = 0; dim <= partial; dim++) from += index[dim] * strides[dim];
        copy.copyRows(xBase + from * bytes, outBase + o * bytes, count(2), strides[2] * bytes, run * bytes, run * bytes);
        o += run * count(2);
      }
    }
    return out;
  };

  const originalConcat = tf.getKernel('Concat', 'wasm')!.kernelFunc;
  replaceWasmKernel('Concat', (args) => {
    const inputs = args.inputs as unknown as TensorInfo[];
    const backend = args.backend as unknown as WasmBackend;
    const axis = tf.util.parseAxisParam((args.attrs as unknown as { axis: number }).axis, inputs[0].shape)[0];
    const parts = inputs.filter((t) => tf.util.sizeFromShape(t.shape) > 0);
    if (parts.length < 2 || parts.some((t) => t.dtype === 'string' || t.dtype !== parts[0].dtype)) return originalConcat(args);
    tf.backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis);
    const out = backend.makeOutput(tf.backend_util.computeOutShape(inputs.map((t) => t.shape), axis), parts[0].dtype);
    // Each part is `outer` rows of its inner size; in the output they sit side by side.
    const outer = tf.util.sizeFromShape(parts[0].shape.slice(0, axis));
    const inner = parts.map((t) => tf.util.sizeFromShape(t.shape.slice(axis)));
    const total = inner.reduce((a, b) => a + b, 0);
    const bytes = backend.typedArrayFromHeap(parts[0]).BYTES_PER_ELEMENT;
    const outBase = heapOffset(backend, out);
    let column = 0;
    parts.forEach((t, i) => {
      copy.copyRows(heapOffset(backend, t), outBase + column * bytes, outer, inner[i] * bytes, total * bytes, inner[i] * bytes);
      column += inner[i];
    });
    return out as never;
  });
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
