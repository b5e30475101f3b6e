import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { cacheRoot as defaultCacheRoot } from '../runtime/paths.ts';
import type { DataConfig } from '../config/sections/data.ts';
import { UserError } from '../runtime/errors.ts';
import type { Corpus, CorpusSummary, ImageRecord, SkippedFile } from './types.ts';
import { displayNamesFor } from './class-names/display-names.ts';
import { processAlive } from '../runtime/process.ts';

/**
 * The corpus cache: `<cacheRoot>/<hash>/images.bin` (all images, N x S x S x 3 uint8, nothing
 * else) and `manifest.json` (everything about them). A build is written into a temporary folder
 * and renamed into place at the end, so a folder named by a hash is always a finished build.
 */

/** Bump when the manifest or the pixel layout changes meaning: old caches then simply miss. */
export const CACHE_FORMAT = 2; // 2: images.bin checksum in the manifest; folder sources keyed by content

export interface Manifest {
  format: number;
  hash: string;
  createdAt: string;
  buildSeconds: number;
  /** sha256 of images.bin, checked on every read: a cache is never trusted blindly. */
  pixelsSha256: string;
  source: { kind: DataConfig['source']; identity: string };
  /** The data section the corpus was built from (the key of the cache, with the source identity). */
  data: DataConfig;
  imageSize: number;
  /** Kept classes, largest first, and their sizes among the eligible candidates. */
  classNames: string[];
  /** Display names parallel to classNames (absent in caches written before they existed). */
  displayNames?: string[];
  classSizes: Record<string, number>;
  records: ImageRecord[];
  indexedRows: number[];
  idLength: number;
  /** Code string per ID (absent in caches written before codes existed: decimal IDs). */
  codes?: string[];
  skipped: SkippedFile[];
  summary: CorpusSummary & { requestedImages: number };
}

/**
 * Cache key: the data config and the identity of the source (resolved root + listing digest,
 * Hub repo + resolved revision...). `root` itself is left out because the identity already names
 * the resolved folder: `../shared/x` and `/abs/shared/x` are the same corpus.
 */
export function corpusHash(data: DataConfig, sourceIdentity: string): string {
  const { root: _root, ...rest } = data;
  // Keys added after corpora were first cached count only when set away from their default, so
  // existing caches (and the runs that name them) keep their hash.
  const keyed = Object.fromEntries(
    Object.entries(rest)
      .filter(([key, value]) => !(key in LATER_KEY_DEFAULTS) || LATER_KEY_DEFAULTS[key] !== value)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  const text = JSON.stringify({ format: CACHE_FORMAT, data: keyed, source: sourceIdentity });
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

const LATER_KEY_DEFAULTS: Record<string, unknown> = { semantic_k: 10, semantic_leaf_size: 10, semantic_embeddings: null, semantic_names: null };

export function cacheDirFor(cacheRoot: string, hash: string): string {
  return join(resolve(cacheRoot), hash);
}

/** Writes a complete cache folder atomically and returns its path. Replaces an existing one. */
export async function writeCache(cacheRoot: string, manifest: Manifest, pixels: Uint8Array): Promise<string> {
  const root = resolve(cacheRoot);
  await mkdir(root, { recursive: true });
  await removeAbandonedTemps(root, manifest.hash);
  const tmp = join(root, `.tmp-${manifest.hash}-${process.pid}-${Date.now()}`);
  await mkdir(tmp);
  try {
    await writeFile(join(tmp, 'images.bin'), pixels);
    // The manifest (with the checksum) goes last and the folder is renamed into place only then,
    // so a cache folder never pairs a checksum with other bytes than it was computed from.
    const withSum: Manifest = { ...manifest, pixelsSha256: sha256Hex(pixels) };
    await writeFile(join(tmp, 'manifest.json'), `${JSON.stringify(withSum, null, 1)}\n`);
    const final = cacheDirFor(root, manifest.hash);
    if (existsSync(final)) {
      // --force, or another process finished first: move the old one aside, then swap.
      const old = join(root, `.old-${manifest.hash}-${process.pid}-${Date.now()}`);
      await rename(final, old);
      await rename(tmp, final);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, final);
    }
    return final;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Temporary folders of builds that were killed (their process is gone) are deleted. */
async function removeAbandonedTemps(root: string, hash: string): Promise<void> {
  for (const name of await readdir(root)) {
    const m = new RegExp(`^\\.(?:tmp|old)-${hash}-(\\d+)-`).exec(name);
    if (m && !processAlive(Number(m[1]))) await rm(join(root, name), { recursive: true, force: true });
  }
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A cache folder whose images.bin no longer matches its manifest (zeroed or changed bytes). */
export class CacheDamaged extends UserError {
  constructor(readonly dir: string, why: string) {
    super(`the corpus cache ${dir} is damaged (${why})`);
    this.name = 'CacheDamaged';
  }
}

/**
 * The cached corpus in `dir`, or null when there is none or it is not a complete, current build.
 * Throws CacheDamaged when images.bin does not match the checksum its manifest recorded.
 */
export async function readCache(dir: string): Promise<{ corpus: Corpus; manifest: Manifest } | null> {
  const manifestPath = join(dir, 'manifest.json');
  const binPath = join(dir, 'images.bin');
  if (!existsSync(manifestPath) || !existsSync(binPath)) return null;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
  } catch {
    return null;
  }
  if (manifest.format !== CACHE_FORMAT) return null;
  const rowBytes = manifest.imageSize * manifest.imageSize * 3;
  if ((await stat(binPath)).size !== manifest.records.length * rowBytes) return null;
  const buf = await readFile(binPath);
  if (!manifest.pixelsSha256) return null;
  if (sha256Hex(buf) !== manifest.pixelsSha256) throw new CacheDamaged(dir, 'images.bin does not match the sha256 in manifest.json');
  const corpus: Corpus = {
    hash: manifest.hash,
    imageSize: manifest.imageSize,
    pixels: new Uint8Array(buf.buffer, buf.byteOffset, buf.length),
    records: manifest.records,
    classNames: manifest.classNames,
    displayNames: manifest.displayNames ?? displayNamesFor(manifest.classNames),
    skipped: manifest.skipped,
    indexedRows: manifest.indexedRows,
    idLength: manifest.idLength,
    ...(manifest.codes ? { codes: manifest.codes } : {}),
    cachePath: dir,
  };
  return { corpus, manifest };
}

/** For later stages that only know the hash a checkpoint or run recorded. */
export async function loadCorpusByHash(hash: string, cacheRoot: string = defaultCacheRoot()): Promise<Corpus> {
  if (!/^[0-9a-f]{6,64}$/.test(hash)) throw new UserError(`"${hash}" is not a corpus hash (expected hex digits)`);
  const dir = cacheDirFor(cacheRoot, hash);
  let found;
  try {
    found = await readCache(dir);
  } catch (e) {
    if (e instanceof CacheDamaged) throw new UserError(`${e.message}; rebuild it with \`dsi data --force --config <the run's config>\``);
    throw e;
  }
  if (!found) {
    throw new UserError(
      `corpus ${hash} is not in the cache (${dir} is missing or incomplete); rebuild it with \`dsi data --config <the run's config>\``,
    );
  }
  return found.corpus;
}
