/**
 * The models `dsi eval` and `dsi search` compare, behind one interface: a ranker turns a query
 * set into ranked lists of indexed IDs. The ViT ranks by beam search over its checkpoint; BoVW by
 * cosine similarity of visual-word histograms (src/bovw, built by `dsi bovw`).
 */
import { loadBovwIndex, loadOrBuildBovwIndex, rankManyByBovw, type BovwIndex } from '../bovw/bovw-index.ts';
import type { BovwConfig } from '../config/sections/bovw.ts';
import type { DecodeConfig } from '../config/sections/decode.ts';
import { idCodes, type Corpus } from '../data/types.ts';
import { searchWithModel, withMirrorImages } from '../decode/model-search.ts';
import { IdTrie } from '../decode/trie.ts';
import * as tf from '@tensorflow/tfjs-core';
import { modelFromState } from '../model/dsi-model.ts';
import type { DsiModel } from '../model/types.ts';
import { imageEmbedding, unitLength } from '../model/embedding.ts';
import type { LoadedCheckpoint } from '../runs/checkpoint.ts';
import type { QuerySet } from './queries.ts';
import type { RankedList } from '../types.ts';
import type { ModelKind } from './types.ts';
import { WorkerClient } from '../runtime/workers.ts';

/** BoVW ranking of a query set in a worker thread of its own; `ms` is the ranking's wall time there. */
async function rankBovwInWorker(dir: string, corpusHash: string, config: BovwConfig, queries: QuerySet, topK: number): Promise<{ lists: RankedList[]; ms: number }> {
  const worker = new WorkerClient(new URL('./bovw-worker.ts', import.meta.url), null);
  try {
    return await worker.call('rank', { dir, corpusHash, config, pixels: queries.pixels, imageSize: queries.imageSize, topK });
  } finally {
    await worker.terminate();
  }
}

export interface Ranking {
  lists: RankedList[];
  msPerQuery: number;
  /** Unconstrained decoding only: invalid hypotheses among the top-K slots, and the slots. */
  invalid?: { count: number; slots: number };
}

export interface Ranker {
  kind: ModelKind;
  label: string;
  rank(queries: QuerySet, topK: number, onProgress: (n: number) => void): Promise<Ranking>;
  dispose(): void;
}

/** A checkpoint's ViT as a ranker. The beam is widened to K when decode.beam_width is smaller. */
export function vitRanker(kind: 'zero-shot' | 'fine-tuned', ckpt: LoadedCheckpoint, corpus: Corpus, decode: DecodeConfig): Ranker {
  return modelRanker(kind, modelFromState(ckpt.config.model, ckpt.shape, ckpt.weights), corpus, decode);
}

/**
 * A ViT in memory as a ranker (disposing the ranker disposes the model). The trainer ranks its
 * val queries with this during phase 2 (train.select_on=val_p10), so selection and `dsi eval`
 * decode the same way.
 */
export function modelRanker(kind: 'zero-shot' | 'fine-tuned', model: DsiModel, corpus: Corpus, decode: DecodeConfig): Ranker {
  const trie = IdTrie.fromCodes(idCodes(corpus));
  return {
    kind,
    label: kind === 'zero-shot' ? 'ViT DSI zero-shot' : 'ViT DSI fine-tuned',
    async rank(queries, topK, onProgress) {
      const { results, msPerQuery } = await searchWithModel(
        model,
        trie,
        { pixels: queries.pixels, count: queries.count, imageSize: queries.imageSize },
        { beamWidth: Math.max(decode.beam_width, topK), topK, constrained: decode.constrained, batchSize: decode.batch_size, flipAverage: decode.flip_average, onBatch: onProgress },
      );
      const invalid = decode.constrained ? undefined : { count: results.reduce((a, r) => a + r.invalid, 0), slots: results.length * topK };
      return { lists: results.map((r) => ({ ids: r.ids, scores: r.scores })), msPerQuery, invalid };
    },
    dispose: () => model.dispose(),
  };
}

/**
 * A run's trained models as rankers, in table order: zero-shot (the indexing checkpoint),
 * fine-tuned (when phase 2 ran), the dense dual encoder (when trained). `dsi eval` and `dsi serve`
 * show the same rows from this one list.
 */
export function trainedModelRankers(
  run: { indexing: LoadedCheckpoint; retrieval: LoadedCheckpoint | null; dense: LoadedCheckpoint | null },
  corpus: Corpus,
  decode: DecodeConfig,
): Ranker[] {
  const rankers = [vitRanker('zero-shot', run.indexing, corpus, decode)];
  if (run.retrieval) rankers.push(vitRanker('fine-tuned', run.retrieval, corpus, decode));
  if (run.dense) rankers.push(denseRanker(run.dense, corpus, decode));
  return rankers;
}

/**
 * The dense dual encoder (src/train/dense/) as a ranker: cosine similarity between the query's
 * embedding and every indexed image's, embedded once.
 */
export function denseRanker(ckpt: LoadedCheckpoint, corpus: Corpus, decode: Pick<DecodeConfig, 'batch_size' | 'flip_average'>): Ranker {
  const model = modelFromState(ckpt.config.model, ckpt.shape, ckpt.weights);
  const size = corpus.imageSize;
  const per = size * size * 3;
  const batchSize = decode.batch_size;
  const embedIndexed = (images: tf.Tensor4D) => imageEmbedding(model, images, false);
  // decode.flip_average: a query's embedding is the mean of its own and its mirror image's (unit
  // length again); the indexed images are embedded as they are, as the ViT's index is.
  const embedQueries = (images: tf.Tensor4D): tf.Tensor2D => {
    if (!decode.flip_average) return embedIndexed(images);
    const n = images.shape[0];
    const both = imageEmbedding(model, withMirrorImages(images), false);
    return unitLength(tf.add(tf.slice(both, [0, 0], [n, -1]), tf.slice(both, [n, 0], [n, -1])));
  };
  const embedAll = (pixels: Uint8Array, count: number, embed: (images: tf.Tensor4D) => tf.Tensor2D): tf.Tensor2D => {
    const parts: tf.Tensor2D[] = [];
    for (let first = 0; first < count; first += batchSize) {
      const n = Math.min(batchSize, count - first);
      parts.push(
        tf.tidy(() => {
          const images = tf.tensor4d(Float32Array.from(pixels.subarray(first * per, (first + n) * per)), [n, size, size, 3]);
          return embed(images);
        }),
      );
    }
    const all = tf.concat(parts, 0);
    tf.dispose(parts);
    return all;
  };
  const indexedPixels = new Uint8Array(corpus.indexedRows.length * per);
  corpus.indexedRows.forEach((row, id) => indexedPixels.set(corpus.pixels.subarray(row * per, (row + 1) * per), id * per));
  const index = embedAll(indexedPixels, corpus.indexedRows.length, embedIndexed);
  return {
    kind: 'dense',
    label: 'Dense dual encoder (cosine)',
    async rank(queries, topK, onProgress) {
      const start = performance.now();
      const k = Math.min(topK, corpus.indexedRows.length);
      const lists: RankedList[] = [];
      for (let first = 0; first < queries.count; first += batchSize) {
        const n = Math.min(batchSize, queries.count - first);
        const q = embedAll(queries.pixels.subarray(first * per, (first + n) * per), n, embedQueries);
        const { values, indices } = tf.tidy(() => tf.topk(tf.matMul(q, index, false, true), k));
        const [scores, ids] = [(await values.data()) as Float32Array, (await indices.data()) as Int32Array];
        tf.dispose([q, values, indices]);
        for (let i = 0; i < n; i++) lists.push({ ids: Array.from(ids.subarray(i * k, (i + 1) * k)), scores: Array.from(scores.subarray(i * k, (i + 1) * k)) });
        onProgress(n);
      }
      return { lists, msPerQuery: queries.count ? (performance.now() - start) / queries.count : 0 };
    },
    dispose: () => {
      index.dispose();
      model.dispose();
    },
  };
}

/**
 * The BoVW baseline as a ranker. Without `build`, null when its index has not been built for this
 * corpus; with it, a missing index is built (and cached) first, with its progress bars.
 * `inWorker`: rank in a worker thread (the cached index is opened there), so the calling thread
 * stays free for the ViT; an index that could not be cached ranks here.
 */
export async function bovwRanker(corpus: Corpus, cfg: BovwConfig, build?: { onBuild?: () => void }, opts: { inWorker?: boolean } = {}): Promise<Ranker | null> {
  let index: BovwIndex | null = await loadBovwIndex(corpus, cfg);
  if (!index && build) {
    build.onBuild?.();
    index = await loadOrBuildBovwIndex(corpus, cfg);
  }
  if (!index) return null;
  return {
    kind: 'bovw',
    label: `BoVW (SIFT, k-means K=${cfg.clusters})`,
    async rank(queries, topK, onProgress) {
      if (opts.inWorker && index.path) {
        const { lists, ms } = await rankBovwInWorker(index.path, index.corpusHash, cfg, queries, topK);
        onProgress(queries.count);
        return { lists, msPerQuery: queries.count ? ms / queries.count : 0 };
      }
      const per = queries.imageSize * queries.imageSize * 3;
      const lists: RankedList[] = [];
      const start = performance.now();
      // In chunks so the progress bar moves; BoVW ranks each query independently.
      for (let first = 0; first < queries.count; first += 8) {
        const n = Math.min(8, queries.count - first);
        lists.push(...rankManyByBovw(index, queries.pixels.subarray(first * per, (first + n) * per), queries.imageSize, topK));
        onProgress(n);
      }
      return { lists, msPerQuery: queries.count ? (performance.now() - start) / queries.count : 0 };
    },
    dispose: () => {},
  };
}
