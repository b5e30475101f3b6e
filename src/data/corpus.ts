import type { DataConfig } from '../config/sections/data.ts';
import { UserError } from '../runtime/errors.ts';
import { logToStderr, type Log } from '../runtime/log.ts';
import { cacheRoot as defaultCacheRoot } from '../runtime/paths.ts';
import { CacheDamaged, CACHE_FORMAT, cacheDirFor, corpusHash, readCache, writeCache, type Manifest } from './cache.ts';
import { decodeSelection } from './decode-selection.ts';
import { displayNamesFor } from './class-names/display-names.ts';
import { idLengthFor } from './ids.ts';
import { imageEmbedding, EMBEDDING_DIM, semanticCodes } from './semantic-ids.ts';
import { embeddingsFor, readExternalEmbeddings, type ExternalEmbeddings } from './semantic-embeddings.ts';
import { planSelection } from './select.ts';
import type { ImageSource } from './sources/types.ts';
import { splitCorpus } from './split.ts';
import type { Corpus, CorpusSummary, ImageRecord } from './types.ts';

export { loadCorpusByHash } from './cache.ts';

/**
 * The data stage in one call: open the source, and either reuse the cached corpus for this data
 * config + source, or select, decode, split, assign IDs and write the cache.
 */

export interface PrepareOptions {
  /** Where cache folders live (default: runtime/paths.ts cacheRoot(), data/cache under the output root). */
  cacheRoot?: string;
  /** Rebuild even when a complete cache exists. */
  force?: boolean;
  /** One-line notes (a damaged cache being rebuilt). Default: stderr. */
  log?: Log;
}

export interface PreparedCorpus extends Corpus {
  /** True when the cache was reused, false when this call built it. */
  reused: boolean;
  /** Images asked for (data.num_images); the corpus may hold fewer when the source runs short. */
  requestedImages: number;
  /** Seconds this call took (listing + reuse, or the whole build). */
  seconds: number;
}

export async function prepareCorpus(data: DataConfig, opts: PrepareOptions = {}): Promise<PreparedCorpus> {
  const started = Date.now();
  const cacheRoot = opts.cacheRoot ?? defaultCacheRoot();
  const source = await openSource(data, cacheRoot);
  const external = data.semantic_embeddings && data.semantic_names ? readExternalEmbeddings(data.semantic_embeddings, data.semantic_names) : null;
  // The embeddings count by content, not by where they lie (as data.root's path does not count).
  const hash = external
    ? corpusHash({ ...data, semantic_embeddings: null, semantic_names: null }, `${source.identity}+embeddings:${external.digest}`)
    : corpusHash(data, source.identity);
  if (!opts.force) {
    let found = null;
    try {
      found = await readCache(cacheDirFor(cacheRoot, hash));
    } catch (e) {
      if (!(e instanceof CacheDamaged)) throw e;
      (opts.log ?? logToStderr)(`note: ${e.message}; rebuilding it`);
    }
    if (found) {
      return { ...found.corpus, reused: true, requestedImages: data.num_images, seconds: (Date.now() - started) / 1000 };
    }
  }
  const manifest = await buildCorpus(data, source, hash, started, external);
  return {
    ...manifest.corpus,
    cachePath: await writeCache(cacheRoot, manifest.manifest, manifest.corpus.pixels),
    reused: false,
    requestedImages: data.num_images,
    seconds: (Date.now() - started) / 1000,
  };
}

/** One source per data.source. Hub and COCO load lazily: they pull in parquet/JSON machinery. */
async function openSource(data: DataConfig, cacheRoot: string): Promise<ImageSource> {
  switch (data.source) {
    case 'folder': {
      const { openFolderSource } = await import('./sources/folder.ts');
      return openFolderSource(data);
    }
    case 'coco': {
      const { openCocoSource } = await import('./sources/coco.ts');
      return openCocoSource(data, { cacheDir: cacheRoot });
    }
    case 'hub': {
      const { openHubSource } = await import('./sources/hub.ts');
      return openHubSource(data, { cacheDir: cacheRoot });
    }
  }
}

async function buildCorpus(
  data: DataConfig,
  source: ImageSource,
  hash: string,
  started: number,
  external: ExternalEmbeddings | null,
): Promise<{ corpus: Corpus; manifest: Manifest }> {
  const multiLabel = source.multiLabel ?? false;
  const aspectSelection = source.aspectSelection ?? false;
  const plan = planSelection(source.items, {
    numImages: data.num_images,
    minImagesPerClass: data.min_images_per_class,
    aspectTolerance: data.aspect_tolerance,
    aspectSelection,
    multiLabel,
  });
  const decoded = await decodeSelection(plan, {
    size: data.image_size,
    aspectTolerance: aspectSelection ? data.aspect_tolerance : null,
  });
  if (decoded.chosen.length === 0) {
    throw new UserError(`no image of data.root=${data.root ?? data.dataset} could be decoded (${decoded.skipped.length} skipped)`);
  }

  const kept = new Set(plan.classNames);
  // The class an image is split under: its first (largest, for COCO) class among the kept ones.
  const primary = decoded.chosen.map((item) => item.classes.find((c) => kept.has(c))!);
  const present = new Set(primary);
  const classNames = plan.classNames.filter((c) => present.has(c));
  const split = splitCorpus(
    decoded.chosen.map((item, i) => ({ primaryClass: primary[i], classes: item.classes })),
    classNames,
    {
      retrievalFraction: data.retrieval_fraction,
      querySplit: data.query_split,
      idScheme: data.id_scheme,
      seed: data.seed,
      multiLabel,
    },
  );
  const records: ImageRecord[] = decoded.chosen.map((item, row) => ({
    row,
    source: item.source,
    classes: item.classes,
    captions: item.captions,
    role: split.roles[row],
    id: split.ids[row],
    relevantIds: split.relevantIds[row],
  }));
  const codes =
    data.id_scheme !== 'semantic'
      ? split.codes
      : semanticCodesOf(
          external
            ? { values: embeddingsFor(external, split.indexedRows.map((row) => records[row].source)), dim: external.dim }
            : histogramEmbeddings(decoded.pixels, data.image_size, split.indexedRows),
          data,
          split.indexedRows.length,
        );
  const idLength = Math.max(1, ...codes.map((c) => c.length));
  const skipped = [...source.skipped, ...decoded.skipped];
  const displayNames = displayNamesFor(classNames, source.classWords);
  const corpus: Corpus = {
    hash,
    imageSize: data.image_size,
    pixels: decoded.pixels,
    records,
    classNames,
    displayNames,
    skipped,
    indexedRows: split.indexedRows,
    idLength,
    codes,
    cachePath: '',
  };
  const manifest: Manifest = {
    format: CACHE_FORMAT,
    hash,
    createdAt: new Date().toISOString(),
    buildSeconds: (Date.now() - started) / 1000,
    pixelsSha256: '', // set by writeCache from the bytes it writes
    source: { kind: data.source, identity: source.identity },
    data,
    imageSize: data.image_size,
    classNames,
    displayNames,
    classSizes: plan.classSizes,
    records,
    indexedRows: split.indexedRows,
    idLength,
    codes,
    skipped,
    summary: { ...summarizeCorpus(corpus), requestedImages: data.num_images },
  };
  return { corpus, manifest };
}

/** The built-in embedding (colour, layout, gradient histograms) of each indexed image, by ID. */
function histogramEmbeddings(pixels: Uint8Array, size: number, indexedRows: readonly number[]): { values: Float32Array; dim: number } {
  const per = size * size * 3;
  const values = new Float32Array(indexedRows.length * EMBEDDING_DIM);
  indexedRows.forEach((row, id) => values.set(imageEmbedding(pixels.subarray(row * per, (row + 1) * per), size), id * EMBEDDING_DIM));
  return { values, dim: EMBEDDING_DIM };
}

/** Semantic codes of the indexed images (by ID) from their embeddings. */
function semanticCodesOf(embeddings: { values: Float32Array; dim: number }, data: DataConfig, count: number): string[] {
  return semanticCodes(embeddings.values, count, embeddings.dim, { k: data.semantic_k, leafSize: data.semantic_leaf_size, seed: data.seed });
}

/**
 * Why the corpus holds fewer images than data.num_images, with the setting that fixes it, or null
 * when it is complete. The usual cause is not a lack of images: the rule "ceil(N / min) classes,
 * min images each" asks for more classes than the source has (e.g. 2048 Imagenette images with
 * min_images_per_class=52 wants 40 classes of 10), so say so instead of "not available".
 */
export function shortfallWarning(corpus: PreparedCorpus, data: DataConfig): string | null {
  const got = corpus.records.length;
  const asked = corpus.requestedImages;
  if (got >= asked) return null;
  const head = `only ${got} of data.num_images=${asked} images are in the corpus`;
  const min = data.min_images_per_class;
  const classesAsked = Math.ceil(asked / min);
  const classes = corpus.classNames.length;
  if (data.source === 'coco') {
    // Multi-label: every image showing a kept class is a candidate, so the class count is not the limit.
    return `${head}: only ${got} usable images show one of the ${classes} kept classes (those with >= data.min_images_per_class=${min} images); point data.root at more images or raise data.aspect_tolerance`;
  }
  if (classes < classesAsked) {
    return (
      `${head}: the rule keeps ceil(${asked} / data.min_images_per_class=${min}) = ${classesAsked} classes of ${min} images, ` +
      `but only ${classes} classes have ${min} or more; to take ${asked} images from ${classes} classes, ` +
      `--set data.min_images_per_class=${Math.ceil(asked / classes)} (if the classes are that large)`
    );
  }
  return `${head}: the kept classes ran out of readable images (${corpus.skipped.length} files skipped, listed in the manifest)`;
}

/** The numbers `dsi data` prints and the manifest records. */
export function summarizeCorpus(corpus: Corpus): CorpusSummary {
  const queries = { train: 0, val: 0, test: 0 };
  let relevantTotal = 0;
  let queriesWithoutRelevant = 0;
  for (const r of corpus.records) {
    if (r.role === 'indexed') continue;
    queries[r.role]++;
    relevantTotal += r.relevantIds.length;
    if (r.relevantIds.length === 0) queriesWithoutRelevant++;
  }
  const queryCount = queries.train + queries.val + queries.test;
  return {
    images: corpus.records.length,
    classes: corpus.classNames.length,
    indexed: corpus.indexedRows.length,
    queries,
    queriesWithoutRelevant,
    meanRelevantPerQuery: queryCount > 0 ? relevantTotal / queryCount : 0,
    idLength: corpus.idLength,
    skipped: corpus.skipped.length,
  };
}
