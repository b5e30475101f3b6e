/**
 * Beam search with the DSI model as the next-token scorer. Queries are decoded in batches; the
 * encoder runs once per batch, the decoder projects each image's keys/values once per batch and
 * caches its own keys/values per position (incremental decoding), and the beams of an image attend
 * to it together (see src/model/kernels/attention-by-image.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { BEGIN, VOCAB_SIZE } from '../data/ids.ts';
import type { DsiModel, IncrementalDecoder } from '../model/types.ts';
import { beamSearch, type BeamResult, type NextTokenScorer, type ScoreRequest } from './beam.ts';
import type { IdTrie } from './trie.ts';

export interface ModelSearchOptions {
  beamWidth: number;
  topK: number;
  constrained: boolean;
  /** Queries per encoder/decoder batch. */
  batchSize: number;
  /** Re-run the whole prefix at every step instead of caching keys/values (for comparison). */
  uncached?: boolean;
  /** Also read each query mirrored and average the two next-token distributions (decode.flip_average). */
  flipAverage?: boolean;
  /** Called after each batch with the number of queries it held. */
  onBatch?: (queries: number) => void;
}

export interface ModelSearchResult {
  results: BeamResult[];
  /** Wall time of encoding + decoding divided by the number of queries. */
  msPerQuery: number;
  /** The encoder's part of it (on an asynchronous GPU backend, only the time to queue it). */
  encodeMsPerQuery: number;
}

export interface ModelScorer extends NextTokenScorer {
  /** Free what the scorer caches between calls (not the memory). */
  dispose(): void;
}

/**
 * A scorer over one batch's encoder memory [Q, P, D]. Cached (the default): the decoder keeps
 * each position's keys/values and projects the memory once, and each call feeds only the newest
 * token of every prefix (a call whose prefixes do not extend the previous call's replays them).
 * Uncached: the whole prefix runs through the decoder at every call (the reference the tests
 * compare with).
 */
export function modelScorer(model: DsiModel, memory: tf.Tensor3D, opts: { cached?: boolean } = {}): ModelScorer {
  if (opts.cached === false) return Object.assign(uncachedScorer(model, memory), { dispose() {} });
  let decoder: IncrementalDecoder | null = null;
  /** Row of each (query, prefix) fed in the previous call. */
  let previousRows = new Map<string, number>();
  const key = (query: number, prefix: readonly number[]) => `${query}:${prefix.join('')}`;
  const restart = () => {
    decoder?.dispose();
    decoder = model.startDecoding(memory);
  };
  const feed = async (tokens: Int32Array, parents: Int32Array | null, memoryRows: Int32Array) => {
    const logits = decoder!.step(tokens, parents, memoryRows);
    const data = (await logits.data()) as Float32Array;
    logits.dispose();
    return logSoftmaxRows(data, VOCAB_SIZE);
  };
  const scorer = async (requests: readonly ScoreRequest[]) => {
    const rows = requests.length;
    const len = requests[0].prefix.length;
    const memoryRows = Int32Array.from(requests, (r) => r.query);
    if (requests.some((r) => r.prefix.length !== len)) throw new Error('all prefixes of one scorer call must have the same length');
    const parents = new Int32Array(rows);
    const extends_ = len > 0 && decoder !== null && decoder.length === len && requests.every((r, i) => {
      const parent = previousRows.get(key(r.query, r.prefix.slice(0, -1)));
      if (parent === undefined) return false;
      parents[i] = parent;
      return true;
    });
    let logProbs: Float32Array;
    if (extends_) {
      logProbs = await feed(Int32Array.from(requests, (r) => r.prefix[len - 1]), parents, memoryRows);
    } else {
      // A fresh search (or prefixes from elsewhere): feed BEGIN and then every prefix token.
      restart();
      const sameRows = Int32Array.from({ length: rows }, (_, i) => i);
      logProbs = await feed(new Int32Array(rows).fill(BEGIN), null, memoryRows);
      for (let t = 0; t < len; t++) logProbs = await feed(Int32Array.from(requests, (r) => r.prefix[t]), sameRows, memoryRows);
    }
    previousRows = new Map(requests.map((r, i) => [key(r.query, r.prefix), i]));
    return logProbs;
  };
  return Object.assign(scorer, {
    dispose() {
      decoder?.dispose();
      decoder = null;
    },
  });
}

/**
 * A scorer that asks `inner` (over memory [2Q, P, D]: the Q queries, then their mirror images) for
 * each prefix twice, as query q and as query q + Q, and returns log((p + p_mirrored) / 2) per token:
 * the average of the two distributions, still a distribution, so beam scores stay log-probabilities.
 */
export function flipAveragedScorer(inner: ModelScorer, queries: number): ModelScorer {
  const scorer = async (requests: readonly ScoreRequest[]) => {
    const both = [...requests, ...requests.map((r) => ({ query: r.query + queries, prefix: r.prefix }))];
    const logProbs = await inner(both);
    const half = requests.length * VOCAB_SIZE;
    const out = new Float32Array(half);
    for (let i = 0; i < half; i++) {
      const [a, b] = [logProbs[i], logProbs[half + i]];
      const max = Math.max(a, b);
      out[i] = max === -Infinity ? -Infinity : max + Math.log((Math.exp(a - max) + Math.exp(b - max)) / 2);
    }
    return out;
  };
  return Object.assign(scorer, { dispose: () => inner.dispose() });
}

/** images [B,H,W,C] and their mirror images (left-right): [2B,H,W,C]. */
export function withMirrorImages(images: tf.Tensor4D): tf.Tensor4D {
  return tf.concat([images, tf.reverse(images, 2)], 0);
}

/**
 * Log-softmax of each row of `width` values, in place, on the host: 13 values per beam, and
 * wasm's logSoftmax (a composite of slow scalar Log/Exp kernels) cost more than the copy.
 */
export function logSoftmaxRows(values: Float32Array, width: number): Float32Array {
  for (let base = 0; base < values.length; base += width) {
    let max = -Infinity;
    for (let i = 0; i < width; i++) max = Math.max(max, values[base + i]);
    let sum = 0;
    for (let i = 0; i < width; i++) sum += Math.exp(values[base + i] - max);
    const logSum = max + Math.log(sum);
    for (let i = 0; i < width; i++) values[base + i] -= logSum;
  }
  return values;
}

function uncachedScorer(model: DsiModel, memory: tf.Tensor3D): NextTokenScorer {
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
  let encodeMs = 0;
  for (let first = 0; first < count; first += opts.batchSize) {
    const n = Math.min(opts.batchSize, count - first);
    const slice = images.pixels.subarray(first * perImage, (first + n) * perImage);
    const encodeStart = performance.now();
    const memory = tf.tidy(() => {
      const batch = tf.tensor4d(Float32Array.from(slice), [n, imageSize, imageSize, 3]);
      return model.encode(opts.flipAverage ? withMirrorImages(batch) : batch, { training: false });
    });
    encodeMs += performance.now() - encodeStart;
    const plain = modelScorer(model, memory, { cached: !opts.uncached });
    const scorer = opts.flipAverage ? flipAveragedScorer(plain, n) : plain;
    try {
      const batch = await beamSearch(n, scorer, trie, {
        beamWidth: opts.beamWidth,
        topK: opts.topK,
        constrained: opts.constrained,
        maxDigits: model.shape.idLength,
      });
      results.push(...batch);
    } finally {
      scorer.dispose();
      memory.dispose();
    }
    opts.onBatch?.(n);
  }
  const perQuery = (ms: number) => (count ? ms / count : 0);
  return { results, msPerQuery: perQuery(performance.now() - start), encodeMsPerQuery: perQuery(encodeMs) };
}
