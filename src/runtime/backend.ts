/**
 * Chooses and initialises the TensorFlow.js backend. Only tfjs-core and explicit backends are
 * imported (not the @tensorflow/tfjs bundle) so no layers/converter code or Node banner loads.
 *
 * auto: tfjs-node-gpu (CUDA) -> tfjs-node (native TensorFlow) -> wasm (SIMD, one thread) -> cpu.
 * The native packages are optionalDependencies that often cannot install (their install script
 * downloads libtensorflow), so they are imported dynamically and a failure falls through.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ensureGradients } from './gradients.ts';
import { UserError } from './errors.ts';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** Dynamic import that hides the module name from bundlers/type-checkers (it may not exist). */
async function tryImport(name: string): Promise<boolean> {
  try {
    await import(name);
    return true;
  } catch {
    return false;
  }
}

async function initTensorflow(): Promise<string | null> {
  // tfjs-node(-gpu) registers a backend named 'tensorflow' when its native binding loads.
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if (await tryImport(pkg)) {
      if (await tf.setBackend('tensorflow')) {
        await tf.ready();
        return pkg.endsWith('-gpu') ? 'tensorflow (GPU)' : 'tensorflow';
      }
    }
  }
  return null;
}

async function initWasm(): Promise<boolean> {
  try {
    // Importing the package registers the 'wasm' backend. In Node its loader finds the .wasm
    // binaries next to its own file (__dirname); do NOT call setWasmPaths with file paths, that
    // switches it to fetch(), which rejects plain paths. The threaded build fails in Node
    // (ERR_WORKER_PATH) and tfjs already disables it there, so this is single-threaded SIMD.
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) return false;
    await tf.ready();
    return true;
  } catch {
    return false;
  }
}

async function initCpu(): Promise<boolean> {
  await import('@tensorflow/tfjs-backend-cpu');
  const ok = await tf.setBackend('cpu');
  await tf.ready();
  return ok;
}

let active: string | null = null;

/** Initialise the backend once per process (thread); returns a printable name. */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<string> {
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new UserError(`--backend "${choice}" is not one of ${BACKEND_CHOICES.join(', ')}`);
  }
  if (active && (choice === 'auto' || active.startsWith(choice))) return active;
  // tfjs prints a warning to stdout when a backend is re-registered or a kernel missing;
  // keep that stream for command output.
  tf.env().set('PROD', true);
  let name: string | null = null;
  if (choice === 'auto' || choice === 'tensorflow') {
    name = await initTensorflow();
    if (!name && choice === 'tensorflow') {
      throw new UserError(
        '--backend tensorflow: neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node could be loaded ' +
          '(they are optional dependencies that download libtensorflow at install time; try `npm install @tensorflow/tfjs-node`)',
      );
    }
  }
  if (!name && (choice === 'auto' || choice === 'wasm')) {
    if (await initWasm()) name = 'wasm';
    else if (choice === 'wasm') throw new UserError('--backend wasm: @tensorflow/tfjs-backend-wasm failed to initialise');
  }
  if (!name && (await initCpu())) name = 'cpu';
  if (!name) throw new UserError(`no TensorFlow.js backend could be initialised (asked for "${choice}")`);
  await ensureGradients();
  active = name;
  return name;
}
