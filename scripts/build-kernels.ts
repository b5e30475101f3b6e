/**
 * Assembles the hand-written WebAssembly kernels (src/model/kernels/wasm/*.wat) into the .wasm
 * binaries committed beside them, with WABT (the WebAssembly Binary Toolkit's JS build).
 *   npm run build:kernels
 * The binaries are committed so that running dsi needs no assembler; test/simd-kernels.test.ts
 * fails when a binary is not its source's.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { assembleWat } from '../src/model/kernels/wasm/assemble.ts';

const dir = fileURLToPath(new URL('../src/model/kernels/wasm/', import.meta.url));
for (const name of readdirSync(dir).filter((f) => f.endsWith('.wat'))) {
  const bytes = await assembleWat(name, readFileSync(join(dir, name), 'utf8'));
  const out = join(dir, name.replace(/\.wat$/, '.wasm'));
  writeFileSync(out, bytes);
  console.log(`${name} -> ${out} (${bytes.length} bytes)`);
}
