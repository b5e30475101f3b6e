/**
 * Beam search with the DSI model as the next-token scorer. Queries are decoded in batches; the
 * encoder runs once per batch and every beam of a query reads that query's memory row (the
 * decoder projects K/V once per image and the beams of an image attend to it together, see
 * crossAttentionGrouped).
 */
import * as tf from '@tensorflow/tfjs-core';
import { BEGIN, VOCAB_SIZE } from '../data/ids.ts';
import type { DsiModel } from '../model/types.ts';
import { beamSearch, type BeamResult, type NextTokenScorer, type ScoreRequest } from './beam.ts';
import type { IdTrie } from './trie.ts';

export interface ModelSearchOptions {
  beamWidth: number;
  topK: number;
  constrained: boolean;
  /** Queries per encoder/decoder batch. */
  batchSize: number;
  /** Called after each batch with the number of queries it held. */
  onBatch?: (queries: number) => void;
}

export interface ModelSearchResult {
  results: BeamResult[];
  /** Wall time of encoding + decoding divided by the number of queries. */
  msPerQuery: number;
}

/** A scorer over one batch's encoder memory [Q, P, D]. */
export function modelScorer(model: DsiModel, memory: tf.Tensor3D): NextTokenScorer {
  return async (requests: readonly ScoreRequest[]) => {
    const rows = requests.length;
    const len = requests[0].prefix.length + 1;
    const tokens = new Int32Array(rows * len);
    const memoryRows = new Int32Array(rows);
    requests.forEach((r, i) => {
      if (r.prefix.length + 1 !== len) throw new Error('all prefixes of one scorer call must have the same length');
      tokens[i * len] = BEGIN;
      tokens.set(r.prefix, i * len + 1);
      memoryRows[i] = r.query;
    });
    const logProbs = tf.tidy(() => {
      const tokenTensor = tf.tensor2d(tokens, [rows, len], 'int32');
      // memoryIndex: the beams of a query read its memory without copying it per beam.
      const logits = model.decode(memory, tokenTensor, { training: false }, memoryRows);
      const last = tf.reshape(tf.slice(logits, [0, len - 1, 0], [rows, 1, VOCAB_SIZE]), [rows, VOCAB_SIZE]);
      return tf.logSoftmax(last);
    });
    // Read outside tidy: tidy walks its return value, which is slow for big tensors.
    const data = (await logProbs.data()) as Float32Array;
    logProbs.dispose();
    return data;
  };
}

/**
 * Rank the indexed IDs for `count` images (count x S x S x 3 uint8, row-major) with the model.
 * Returns one BeamResult per image, in order.
 */
export async function searchWithModel(
  model: DsiModel,
  trie: IdTrie,
  images: { pixels: Uint8Array; count: number; imageSize: number },
  opts: ModelSearchOptions,
): Promise<ModelSearchResult> {
  const { count, imageSize } = images;
  const perImage = imageSize * imageSize * 3;
  const results: BeamResult[] = [];
  const start = performance.now();
  for (let first = 0; first < count; first += opts.batchSize) {
    const n = Math.min(opts.batchSize, count - first);
    const slice = images.pixels.subarray(first * perImage, (first + n) * perImage);
    const memory = tf.tidy(() => model.encode(tf.tensor4d(Float32Array.from(slice), [n, imageSize, imageSize, 3]), { training: false }));
    try {
      const batch = await beamSearch(n, modelScorer(model, memory), trie, {
        beamWidth: opts.beamWidth,
        topK: opts.topK,
        constrained: opts.constrained,
        maxDigits: model.shape.idLength,
      });
      results.push(...batch);
    } finally {
      memory.dispose();
    }
    opts.onBatch?.(n);
  }
  return { results, msPerQuery: count ? (performance.now() - start) / count : 0 };
}
