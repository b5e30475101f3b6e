/**
 * What our hand-written wasm kernels need from tfjs-backend-wasm: its Memory (our modules import
 * it, so they read and write tensors where tfjs keeps them, without copies), tensor offsets in it,
 * outputs and scratch space.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';

export type TensorInfo = { dataId: object; shape: number[]; dtype: tf.DataType };

export interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  wasm: { asm?: { memory?: unknown }; _malloc(bytes: number): number; _free(pointer: number): void };
}

/** Byte offset of a tensor's data in the wasm heap. */
export function heapOffset(backend: WasmBackend, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/**
 * Instantiates ./<name>.wasm on tfjs's own memory; null when that memory is not reachable (a
 * build of tfjs-backend-wasm that does not export it), in which case tfjs's kernels stay.
 */
export function instantiateOnHeap<T>(backend: WasmBackend, name: string): T | null {
  const memory = backend.wasm.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  const bytes = readFileSync(new URL(`./${name}.wasm`, import.meta.url));
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as T;
}

/**
 * Registers wasm kernels built from ./<module>.wasm's exports (once per thread, with the wasm
 * backend active). `make` gets the exports and, by kernel name, tfjs's own kernel when there is
 * one (ours then replaces it and may fall back to it); kernels already ours are left alone.
 * False when the module cannot run on tfjs's heap (tfjs's kernels stay).
 */
export function registerHeapKernels<T>(
  module: string,
  make: (exports: T, original: (name: string) => tf.KernelFunc | undefined) => Record<string, tf.KernelFunc>,
): boolean {
  const exports = instantiateOnHeap<T>(tf.backend() as unknown as WasmBackend, module);
  if (!exports) return false;
  const originals = new Map<string, tf.KernelFunc>();
  const kernels = make(exports, (name) => {
    const kernel = tf.getKernel(name, 'wasm');
    if (kernel) originals.set(name, kernel.kernelFunc);
    return kernel?.kernelFunc;
  });
  for (const [kernelName, kernelFunc] of Object.entries(kernels)) {
    if (originals.has(kernelName)) tf.unregisterKernel(kernelName, 'wasm');
    else if (tf.getKernel(kernelName, 'wasm')) continue;
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
  return true;
}
