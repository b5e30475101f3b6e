/**
 * Named arrays on disk: one flat little-endian binary plus a JSON index (name, shape, dtype, byte
 * offset and length of each array, sha256 of the binary). Plain files any tool can read; no
 * tfjs needed to load them.
 */
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import type { NamedArray } from '../types.ts';

export const TENSOR_FORMAT = 'dsi-tensors/1';

export interface TensorEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number;
  bytes: number;
}

export interface TensorIndex {
  format: typeof TENSOR_FORMAT;
  byte_order: 'little';
  /** sha256 (hex) of the whole binary. */
  sha256: string;
  bytes: number;
  tensors: TensorEntry[];
}

// The binary is the arrays' memory as-is; every platform Node runs on in practice is little-endian,
// and refusing the rare other one is better than silently loading byte-swapped weights.
function assertLittleEndian(): void {
  if (endianness() !== 'LE') throw new Error('checkpoints are little-endian; this machine is big-endian');
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function packTensors(arrays: readonly NamedArray[]): { binary: Uint8Array; index: TensorIndex } {
  assertLittleEndian();
  const tensors: TensorEntry[] = [];
  let offset = 0;
  for (const a of arrays) {
    const count = a.shape.reduce((p, d) => p * d, 1);
    if (count !== a.data.length) {
      throw new Error(`array "${a.name}": shape [${a.shape}] holds ${count} values but data has ${a.data.length}`);
    }
    tensors.push({ name: a.name, shape: [...a.shape], dtype: a.dtype, offset, bytes: a.data.byteLength });
    offset += a.data.byteLength;
  }
  const binary = new Uint8Array(offset);
  arrays.forEach((a, i) => {
    binary.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), tensors[i].offset);
  });
  return { binary, index: { format: TENSOR_FORMAT, byte_order: 'little', sha256: sha256(binary), bytes: offset, tensors } };
}

/**
 * Inverse of packTensors. Throws a plain Error describing the first inconsistency; the caller
 * names the checkpoint. Arrays are copied so they stay valid whatever happens to `binary`.
 */
export function unpackTensors(binary: Uint8Array, index: TensorIndex, what: string): NamedArray[] {
  assertLittleEndian();
  if (index.format !== TENSOR_FORMAT) throw new Error(`${what}: unknown format "${index.format}" (expected ${TENSOR_FORMAT})`);
  if (binary.byteLength !== index.bytes) {
    throw new Error(`${what}: binary has ${binary.byteLength} bytes, its index says ${index.bytes}`);
  }
  if (sha256(binary) !== index.sha256) throw new Error(`${what}: sha256 of the binary does not match its index`);
  const seen = new Set<string>();
  return index.tensors.map((t) => {
    if (seen.has(t.name)) throw new Error(`${what}: array "${t.name}" appears twice`);
    seen.add(t.name);
    const count = t.shape.reduce((p, d) => p * d, 1);
    if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new Error(`${what}: array "${t.name}" has unknown dtype ${t.dtype}`);
    if (t.bytes !== count * 4 || t.offset < 0 || t.offset % 4 !== 0 || t.offset + t.bytes > binary.byteLength) {
      throw new Error(`${what}: array "${t.name}" (shape [${t.shape}], offset ${t.offset}, ${t.bytes} bytes) does not fit the binary`);
    }
    const copy = binary.slice(t.offset, t.offset + t.bytes).buffer;
    const data = t.dtype === 'float32' ? new Float32Array(copy) : new Int32Array(copy);
    return { name: t.name, shape: [...t.shape], dtype: t.dtype, data };
  });
}
