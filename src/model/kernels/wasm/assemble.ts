/**
 * WAT text -> WebAssembly binary with WABT. Used by scripts/build-kernels.ts and by the test that
 * checks the committed binaries; never at run time (wabt is a devDependency).
 */
export async function assembleWat(fileName: string, text: string): Promise<Uint8Array> {
  const { default: initWabt } = await import('wabt');
  const wabt = await initWabt();
  const module = wabt.parseWat(fileName, text, { simd: true, bulk_memory: true });
  try {
    module.validate();
    return new Uint8Array(module.toBinary({ log: false, write_debug_names: true }).buffer);
  } finally {
    module.destroy();
  }
}
