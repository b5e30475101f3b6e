/**
 * tfjs-backend-wasm's BatchMatMul, replaced for float32 products with a batch dimension by our
 * SIMD kernel (wasm/batch-matmul.wat, see there for why): it reads both operands where tfjs keeps
 * them, honours transposeA/transposeB without copies of A, and does all groups in one call.
 * 2-D products without transpose flags stay with tfjs's kernel (XNNPACK), a little faster for the
 * large dense-layer matrices (~34 vs ~30 GFLOP/s here); with a flag XNNPACK's path is ~10x slower
 * and ours is as fast as an explicit transpose followed by XNNPACK without the transpose's copy.
 * Shapes we do not cover (batch broadcasting other than "one side has batch 1", other dtypes) go
 * to tfjs's kernel too. Gradients are tfjs's (by kernel name).
 * test/simd-kernels.test.ts compares it with the cpu backend for every flag and shape class.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, registerHeapKernels, type TensorInfo, type WasmBackend } from './wasm/heap.ts';

interface KernelExports {
  batchMatMul(a: number, b: number, c: number, pack: number, groups: number, m: number, n: number, k: number,
    aGroup: number, aRow: number, aCol: number, bGroup: number, bRow: number, bCol: number, kc: number): void;
}

/** Swaps in the kernel (call once per thread, with the wasm backend active). False if it cannot. */
export function installBatchMatMul(): boolean {
  return registerHeapKernels<KernelExports>('batch-matmul', (kernel, original) => {
    const fallback = original('BatchMatMul')!;
    return {
      BatchMatMul: (args) => {
        const { a, b } = args.inputs as unknown as { a: TensorInfo; b: TensorInfo };
        const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
        const out = batchMatMul(kernel, args.backend as unknown as WasmBackend, a, b, transposeA, transposeB);
        return (out ?? fallback(args)) as never;
      },
    };
  });
}

/** The product by our kernel, or null for the cases left to tfjs's. */
function batchMatMul(kernel: KernelExports, backend: WasmBackend, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const plain2d = a.shape.length === 2 && b.shape.length === 2 && !transposeA && !transposeB;
  if (plain2d || a.shape.length < 2 || b.shape.length < 2) return null;
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const sameBatch = a.shape.length === b.shape.length && a.shape.slice(0, -2).every((d, i) => d === b.shape[i]);
  if (!sameBatch && batchA !== 1 && batchB !== 1) return null;
  const [aRows, aCols] = a.shape.slice(-2);
  const [bRows, bCols] = b.shape.slice(-2);
  const m = transposeA ? aCols : aRows;
  const k = transposeA ? aRows : aCols;
  const n = transposeB ? bRows : bCols;
  const kB = transposeB ? bCols : bRows;
  if (k !== kB) {
    throw new Error(`matMul: inner dimensions ${k} and ${kB} of shapes [${a.shape}] and [${b.shape}] (transposeA=${transposeA}, transposeB=${transposeB}) differ`);
  }
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const groups = Math.max(batchA, batchB);
  const out = backend.makeOutput([...batchShape, m, n], 'float32');
  if (groups * m * n === 0) return out;
  // After makeOutput and malloc: offsets are stable, and the kernel reads the Memory object itself.
  const n8 = Math.ceil(n / 8) * 8;
  const kc = chunkRows(n8);
  const pack = backend.wasm._malloc((Math.min(k, kc) * n8 + 8) * 4 + 16);
  try {
    const alignedPack = (pack + 15) & ~15;
    kernel.batchMatMul(
      heapOffset(backend, a),
      heapOffset(backend, b),
      heapOffset(backend, out),
      alignedPack, groups, m, n, k,
      batchA === 1 ? 0 : aRows * aCols, transposeA ? 1 : aCols, transposeA ? aCols : 1,
      batchB === 1 ? 0 : bRows * bCols, transposeB ? 1 : bCols, transposeB ? bCols : 1,
      kc,
    );
  } finally {
    backend.wasm._free(pack);
  }
  return out;
}

/** DSI_MATMUL_PANEL_BYTES overrides the panel size, for `dsi bench` experiments. */
const PANEL_BYTES = Number(process.env.DSI_MATMUL_PANEL_BYTES) || 128 * 1024;

/**
 * Rows of B per chunk of the inner dimension: the packed panel (rows x n8 floats) stays within
 * PANEL_BYTES, a share of a core's L2 cache. Attention's products (k <= 100) fit in one chunk.
 */
export function chunkRows(n8: number): number {
  return Math.max(16, Math.floor(PANEL_BYTES / (4 * n8)));
}
