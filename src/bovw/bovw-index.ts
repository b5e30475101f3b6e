import type { BovwConfig } from '../config/sections/bovw.ts';
import type { Corpus } from '../data/types.ts';
import { imagePixels } from '../data/types.ts';
import type { RankedList } from '../types.ts';
import { UserError } from '../runtime/errors.ts';
import { progressBar } from '../runtime/progress.ts';
import { assignNearest, rowNorms2 } from '../cluster/assign.ts';
import { inverseDocumentFrequency, rootSift, unitRows, weightHistogram, wordCounts } from './histograms.ts';
import { rankByCosine } from './rank.ts';
import { DESCRIPTOR_SIZE, describeImage, loadFastDescriber, type DescribeFn, type SiftFeatures } from './sift/sift.ts';
import { bovwDir, readBovw, STORE_FORMAT, writeBovw, type BovwArrays, type BovwBuildStats } from './store.ts';
import { kmeans, sampleRows } from '../cluster/kmeans.ts';

export { describeImage, type SiftFeatures } from './sift/sift.ts';
export type { BovwBuildStats } from './store.ts';

/** A ready-to-query BoVW index over the indexed images of one corpus (row r of the matrices = DSI ID r). */
export interface BovwIndex {
  config: BovwConfig;
  corpusHash: string;
  /** Where it is cached (null if it could not be written). */
  path: string | null;
  /** True when this call built it, false when it came from the cache. */
  built: boolean;
  clusters: number;
  vocabulary: Float32Array;
  vocabularyNorms2: Float32Array;
  /** Raw word counts, images x clusters. */
  counts: Float32Array;
  /** log(N/df) per word, when weighting is tf-idf. */
  idf: Float32Array | null;
  /** Weighted histograms scaled to unit L2 norm: cosine similarity is a dot product. */
  unitHistograms: Float32Array;
  images: number;
  stats: BovwBuildStats;
  /** SIFT for queries (OpenCV-wasm blur when available). */
  describe: DescribeFn;
}

export interface BovwOptions {
  /** Rebuild even if a cached index exists. */
  rebuild?: boolean;
  /** Folder for the cache instead of `corpus.cachePath`. */
  cacheDir?: string;
}

/** The cached index for this corpus and config, or null when there is none. */
export async function loadBovwIndex(corpus: Corpus, config: BovwConfig, opts: BovwOptions = {}): Promise<BovwIndex | null> {
  const index = await loadBovwIndexAt(bovwDir(opts.cacheDir ?? corpus.cachePath, corpus.hash, config), corpus.hash, config);
  return index && index.images === corpus.indexedRows.length ? index : null;
}

/** The index cached in `dir` (its `path`), without the corpus: how a worker thread opens it. */
export async function loadBovwIndexAt(dir: string, corpusHash: string, config: BovwConfig): Promise<BovwIndex | null> {
  const arrays = await readBovw(dir, corpusHash, config);
  return arrays ? assemble(arrays, config, dir, false, await loadFastDescriber()) : null;
}

/** The cached index, or a new one built (SIFT, k-means, histograms, with progress bars) and cached. */
export async function loadOrBuildBovwIndex(corpus: Corpus, config: BovwConfig, opts: BovwOptions = {}): Promise<BovwIndex> {
  if (!opts.rebuild) {
    const cached = await loadBovwIndex(corpus, config, opts);
    if (cached) return cached;
  }
  const describe = await loadFastDescriber();
  const arrays = buildBovwArrays(corpus, config, describe);
  const dir = bovwDir(opts.cacheDir ?? corpus.cachePath, corpus.hash, config);
  let path: string | null = dir;
  try {
    await writeBovw(dir, arrays);
  } catch (error) {
    process.stderr.write(`BoVW: could not cache the index in ${dir} (${(error as Error).message}); continuing\n`);
    path = null;
  }
  return assemble(arrays, config, path, true, describe);
}

function prepareDescriptors(features: SiftFeatures, config: BovwConfig): Float32Array {
  return config.root_sift ? rootSift(features.descriptors) : features.descriptors;
}

/** SIFT on every indexed image, k-means on a seeded sample of their descriptors, word counts per image. */
export function buildBovwArrays(corpus: Corpus, config: BovwConfig, describe: DescribeFn = describeImage): BovwArrays {
  const started = Date.now();
  const images = corpus.indexedRows.length;
  if (images === 0) throw new UserError('BoVW: the corpus has no indexed images (check data.retrieval_fraction)');
  const perImage: Float32Array[] = [];
  const keypointCounts: number[] = [];
  const siftBar = progressBar('SIFT', images, 'img');
  for (const row of corpus.indexedRows) {
    const features = describe(imagePixels(corpus, row), corpus.imageSize);
    perImage.push(prepareDescriptors(features, config));
    keypointCounts.push(features.keypoints.length);
    siftBar.tick(1, { kp: features.keypoints.length });
  }
  siftBar.stop();
  const siftSeconds = (Date.now() - started) / 1000;

  const total = keypointCounts.reduce((a, b) => a + b, 0);
  if (total < config.clusters) {
    throw new UserError(
      `BoVW: only ${total} SIFT descriptors in ${images} indexed images, fewer than bovw.clusters=${config.clusters}; ` +
        'lower bovw.clusters or use more/larger images',
    );
  }
  // Seeded sample of descriptor rows (global numbering across images, in image order).
  const chosen = sampleRows(total, config.max_descriptors, config.seed);
  const sample = new Float32Array(chosen.length * DESCRIPTOR_SIZE);
  let image = 0;
  let imageStart = 0;
  chosen.forEach((global, i) => {
    while (global >= imageStart + keypointCounts[image]) imageStart += keypointCounts[image++];
    const local = global - imageStart;
    sample.set(perImage[image].subarray(local * DESCRIPTOR_SIZE, (local + 1) * DESCRIPTOR_SIZE), i * DESCRIPTOR_SIZE);
  });

  const kmeansStarted = Date.now();
  const kmeansBar = progressBar('k-means', config.kmeans_iterations, 'iter');
  const vocabulary = kmeans(sample, chosen.length, DESCRIPTOR_SIZE, config.clusters, {
    maxIterations: config.kmeans_iterations,
    seed: config.seed,
    onIteration: () => kmeansBar.tick(1),
  });
  // Converged before kmeans_iterations: the bar ends there, done.
  kmeansBar.stop({ complete: true });
  const kmeansSeconds = (Date.now() - kmeansStarted) / 1000;

  const histogramStarted = Date.now();
  const counts = new Float32Array(images * config.clusters);
  const norms = rowNorms2(vocabulary.centroids, config.clusters, DESCRIPTOR_SIZE);
  const histogramBar = progressBar('histograms', images, 'img');
  perImage.forEach((descriptors, id) => {
    const n = keypointCounts[id];
    const { nearest } = assignNearest(descriptors, n, vocabulary.centroids, config.clusters, DESCRIPTOR_SIZE, norms);
    counts.set(wordCounts(nearest, config.clusters), id * config.clusters);
    histogramBar.tick(1);
  });
  histogramBar.stop();

  const stats: BovwBuildStats = {
    indexedImages: images,
    keypointsPerImage: {
      mean: total / images,
      min: Math.min(...keypointCounts),
      max: Math.max(...keypointCounts),
    },
    imagesWithoutKeypoints: keypointCounts.filter((n) => n === 0).length,
    descriptorsTotal: total,
    descriptorsSampled: chosen.length,
    kmeansIterations: vocabulary.iterations,
    siftSeconds,
    kmeansSeconds,
    histogramSeconds: (Date.now() - histogramStarted) / 1000,
    buildSeconds: (Date.now() - started) / 1000,
  };
  return {
    meta: {
      format: STORE_FORMAT,
      corpusHash: corpus.hash,
      config,
      imageSize: corpus.imageSize,
      clusters: config.clusters,
      descriptorSize: DESCRIPTOR_SIZE,
      stats,
    },
    vocabulary: vocabulary.centroids,
    counts,
  };
}

/** The stored arrays made ready to rank under `config`'s weighting (which may differ from the build's). */
function assemble(arrays: BovwArrays, config: BovwConfig, path: string | null, built: boolean, describe: DescribeFn): BovwIndex {
  const { meta, vocabulary, counts } = arrays;
  const k = meta.clusters;
  const images = meta.stats.indexedImages;
  const idf = config.weighting === 'tfidf' ? inverseDocumentFrequency(counts, images, k) : null;
  const weighted = new Float32Array(counts);
  for (let r = 0; r < images; r++) weightHistogram(weighted.subarray(r * k, (r + 1) * k), config, idf);
  return {
    config,
    corpusHash: meta.corpusHash,
    path,
    built,
    clusters: k,
    vocabulary,
    vocabularyNorms2: rowNorms2(vocabulary, k, DESCRIPTOR_SIZE),
    counts,
    idf,
    unitHistograms: unitRows(weighted, images, k),
    images,
    stats: meta.stats,
    describe,
  };
}

/** The weighted BoVW vector of one image's SIFT features under this index's vocabulary. */
export function bovwVector(index: BovwIndex, features: SiftFeatures): Float32Array {
  const descriptors = prepareDescriptors(features, index.config);
  const n = features.keypoints.length;
  const { nearest } = assignNearest(descriptors, n, index.vocabulary, index.clusters, DESCRIPTOR_SIZE, index.vocabularyNorms2);
  return weightHistogram(wordCounts(nearest, index.clusters), index.config, index.idf);
}

/** Top-k indexed images (DSI IDs) for one RGB query image (imageSize x imageSize x 3), by cosine similarity. */
export function rankByBovw(index: BovwIndex, pixels: Uint8Array, imageSize: number, k: number): RankedList {
  const vector = bovwVector(index, index.describe(pixels, imageSize));
  return rankByCosine(index.unitHistograms, index.images, index.clusters, vector, k);
}

/** `rankByBovw` for a buffer of several RGB query images (count x imageSize x imageSize x 3). */
export function rankManyByBovw(index: BovwIndex, pixels: Uint8Array, imageSize: number, k: number): RankedList[] {
  const per = imageSize * imageSize * 3;
  if (pixels.length % per !== 0) throw new Error(`rankManyByBovw: ${pixels.length} bytes is not a whole number of ${imageSize}px RGB images`);
  const lists: RankedList[] = [];
  for (let offset = 0; offset < pixels.length; offset += per) {
    lists.push(rankByBovw(index, pixels.subarray(offset, offset + per), imageSize, k));
  }
  return lists;
}

/** `rankByBovw` for many rows of a corpus (e.g. its test queries), with a progress bar. */
export function rankRowsByBovw(index: BovwIndex, corpus: Corpus, rows: number[], k: number): RankedList[] {
  const bar = progressBar('BoVW queries', rows.length, 'img');
  const lists = rows.map((row) => {
    const list = rankByBovw(index, imagePixels(corpus, row), corpus.imageSize, k);
    bar.tick(1);
    return list;
  });
  bar.stop();
  return lists;
}
