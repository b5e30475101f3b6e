/**
 * Registers the gradient functions of the tfjs-core ops.
 *
 * WHY this exists: `@tensorflow/tfjs-core`'s Node entry (dist/tf-core.node.js) ships no gradients;
 * the `@tensorflow/tfjs` bundle registers them from dist/register_all_gradients.js, but that file
 * is extensionless ESM that Node cannot import directly. We bundle it once with esbuild (a
 * dependency of tsx, which runs this project) into a cache file and import that. The bundle has its
 * own copy of the op code, but tfjs keeps its engine and kernel/gradient registries in a global
 * namespace and checks Tensor instances structurally, so the copy registers into the same engine.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';

const require = createRequire(import.meta.url);
let registered: Promise<void> | null = null;

async function register(): Promise<void> {
  // Already there (e.g. tfjs-node or the tfjs bundle was loaded): nothing to do.
  if (tf.getGradient('RealDiv') && tf.getGradient('BatchMatMul')) return;
  const corePkg = require.resolve('@tensorflow/tfjs-core/package.json');
  const version = (require(corePkg) as { version: string }).version;
  const source = join(dirname(corePkg), 'dist', 'register_all_gradients.js');
  const cacheDir = join(dirname(corePkg), '..', '..', '.cache', 'dsi');
  const bundle = join(cacheDir, `tfjs-core-gradients-${version}.mjs`);
  if (!existsSync(bundle)) {
    mkdirSync(cacheDir, { recursive: true });
    const { buildSync } = await import('esbuild');
    // Build to a unique temp name, then rename: concurrent processes never see half a file.
    const tmp = `${bundle}.${process.pid}.${Date.now()}.tmp.mjs`;
    buildSync({ entryPoints: [source], bundle: true, format: 'esm', platform: 'node', minify: true, outfile: tmp, logLevel: 'error' });
    renameSync(tmp, bundle);
  }
  await import(pathToFileURL(bundle).href);
  if (!tf.getGradient('RealDiv')) throw new Error(`tfjs gradients failed to register from ${bundle}`);
}

/** Idempotent; call before any training (the engine and initBackend do). */
export function ensureGradients(): Promise<void> {
  registered ??= register();
  return registered;
}
