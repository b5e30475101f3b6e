import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BovwConfig } from '../config/sections/bovw.ts';

/**
 * On-disk BoVW index: `<corpus cache>/bovw-<key>/` with meta.json, vocabulary.f32 (K x 128) and
 * counts.f32 (indexed images x K raw word counts, row = DSI ID). Weighting is re-derived from the
 * counts on load, so the files stay the plain facts. The key hashes the corpus hash and the bovw
 * settings that change those files (`buildSettings`); bump STORE_FORMAT when the algorithm changes what a config produces.
 */
export const STORE_FORMAT = 1;

export interface BovwBuildStats {
  indexedImages: number;
  keypointsPerImage: { mean: number; min: number; max: number };
  imagesWithoutKeypoints: number;
  descriptorsTotal: number;
  descriptorsSampled: number;
  kmeansIterations: number;
  siftSeconds: number;
  kmeansSeconds: number;
  histogramSeconds: number;
  buildSeconds: number;
}

export interface StoredBovw {
  format: number;
  corpusHash: string;
  config: BovwConfig;
  imageSize: number;
  clusters: number;
  descriptorSize: number;
  stats: BovwBuildStats;
}

export interface BovwArrays {
  meta: StoredBovw;
  vocabulary: Float32Array;
  counts: Float32Array;
}

/**
 * The settings that change the stored vocabulary and counts. Weighting and normalisation are
 * applied when the index is loaded, so switching them reuses the same (expensive) build.
 */
export function buildSettings(config: BovwConfig): Record<string, unknown> {
  const { clusters, max_descriptors, kmeans_iterations, root_sift, seed } = config;
  return { clusters, kmeans_iterations, max_descriptors, root_sift, seed };
}

export function bovwKey(corpusHash: string, config: BovwConfig): string {
  const text = JSON.stringify({ format: STORE_FORMAT, corpusHash, build: buildSettings(config) });
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export function bovwDir(cachePath: string, corpusHash: string, config: BovwConfig): string {
  return join(cachePath, `bovw-${bovwKey(corpusHash, config)}`);
}

/** Null when absent, incomplete or written for another corpus/config/format. */
export async function readBovw(dir: string, corpusHash: string, config: BovwConfig): Promise<BovwArrays | null> {
  const metaPath = join(dir, 'meta.json');
  if (!existsSync(metaPath)) return null;
  let meta: StoredBovw;
  try {
    meta = JSON.parse(await readFile(metaPath, 'utf8')) as StoredBovw;
  } catch {
    return null;
  }
  if (meta.format !== STORE_FORMAT || meta.corpusHash !== corpusHash) return null;
  if (JSON.stringify(buildSettings(meta.config)) !== JSON.stringify(buildSettings(config))) return null;
  const vocabulary = await readFloats(join(dir, 'vocabulary.f32'), meta.clusters * meta.descriptorSize);
  const counts = await readFloats(join(dir, 'counts.f32'), meta.stats.indexedImages * meta.clusters);
  if (!vocabulary || !counts) return null;
  return { meta, vocabulary, counts };
}

async function readFloats(path: string, expected: number): Promise<Float32Array | null> {
  if (!existsSync(path)) return null;
  const buf = await readFile(path);
  if (buf.length !== expected * 4) return null;
  // Copy into an aligned buffer: a Buffer's byteOffset need not be a multiple of 4.
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
}

/** Written to a temporary folder, then renamed: readers never see half an index. */
export async function writeBovw(dir: string, arrays: BovwArrays): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    await writeFile(join(tmp, 'vocabulary.f32'), new Uint8Array(arrays.vocabulary.buffer, arrays.vocabulary.byteOffset, arrays.vocabulary.byteLength));
    await writeFile(join(tmp, 'counts.f32'), new Uint8Array(arrays.counts.buffer, arrays.counts.byteOffset, arrays.counts.byteLength));
    await writeFile(join(tmp, 'meta.json'), `${JSON.stringify(arrays.meta, null, 1)}\n`);
    if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
