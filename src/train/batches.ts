/**
 * TrainBatch construction for both phases. Batches are made lazily (a generator), so only one
 * batch's pixels are copied at a time, and every random choice comes from the trainer's `Rng`,
 * whose state is checkpointed: a resumed run draws exactly the same batches.
 *
 * Phase 2 is batched BY IMAGE: a batch holds `batchSize` query images, each encoded once, and
 * one target row per (sampled) relevant ID pointing back at its image. A query with more than
 * `maxTargets` relevant IDs gets a fresh random sample of `maxTargets` of them every epoch, so a
 * step never decodes more than batchSize x maxTargets rows while all IDs are seen over epochs.
 */
import { idCodes, imagePixels, queriesOf, type Corpus, type ImageRecord } from '../data/types.ts';
import { encodeCode, sequenceLength } from '../data/ids.ts';
import type { TrainBatch } from './engine/engine.ts';
import { Rng } from '../runtime/rng.ts';

/** One image of an epoch and the IDs it must produce. */
export interface BatchItem {
  row: number;
  targetIds: number[];
  /** Which augmented view of the image this is (train.indexing_views; 0 when absent). */
  view?: number;
}

/** The image a batch holds for an item: its pixels, or an augmented view of them (augment.ts). */
export type ItemPixels = (item: BatchItem, pixels: Uint8Array) => Uint8Array;

/** Phase 1: every indexed image -> its own ID (`views` times), in a fresh seeded order each epoch. */
export function indexingItems(corpus: Corpus, rng: Rng, views = 1): BatchItem[] {
  const items: BatchItem[] = corpus.indexedRows.map((row, id) => ({ row, targetIds: [id] }));
  for (let view = 1; view < views; view++) items.push(...corpus.indexedRows.map((row, id) => ({ row, targetIds: [id], view })));
  return rng.shuffle(items);
}

/**
 * Phase 2 training items: the corpus's TRAIN queries only (val is for model selection, test is
 * never trained on), shuffled, with relevant IDs sampled down to `maxTargets` per query.
 * Queries without any relevant indexed image are left out (nothing to learn from them).
 */
export function retrievalItems(corpus: Corpus, maxTargets: number, rng: Rng, indexReplay = 0): BatchItem[] {
  const items = queryItems(queriesOf(corpus, 'train'), maxTargets, rng);
  if (indexReplay > 0) items.push(...replayedIndexingItems(corpus, indexReplay, rng));
  return rng.shuffle(items);
}

/**
 * A joint epoch (train.schedule=joint, DSI's multi-task training): every indexed image `views`
 * times -> its own ID, plus round(that / ratio) train-query examples (whole shuffled passes over
 * the train queries, then a sample), shuffled together.
 */
export function jointItems(corpus: Corpus, maxTargets: number, rng: Rng, views: number, ratio: number): BatchItem[] {
  const indexing = indexingItems(corpus, rng, views);
  const wanted = Math.round(indexing.length / ratio);
  const queries: BatchItem[] = [];
  while (queries.length < wanted) {
    const pass = queryItems(queriesOf(corpus, 'train'), maxTargets, rng);
    if (pass.length === 0) break;
    queries.push(...rng.shuffle(pass).slice(0, wanted - queries.length));
  }
  return rng.shuffle([...indexing, ...queries]);
}

/**
 * Phase-1 pairs (indexed image -> own ID) mixed into a phase-2 epoch: `fraction` x the indexed
 * images, a fresh seeded sample each epoch (whole copies first when fraction > 1). Fine-tuning
 * on queries alone lets the model forget the index (the reference's IA@1 falls from 0.83 to
 * 0.42); rehearsing it keeps IDs and queries in one model, as DSI's multi-task training does.
 */
export function replayedIndexingItems(corpus: Corpus, fraction: number, rng: Rng): BatchItem[] {
  const all = corpus.indexedRows.map((row, id) => ({ row, targetIds: [id] }));
  const count = Math.round(fraction * all.length);
  const items: BatchItem[] = [];
  while (items.length + all.length <= count) items.push(...all);
  const rest = count - items.length;
  if (rest > 0) items.push(...rng.shuffle([...all]).slice(0, rest));
  return items;
}

/**
 * Validation items: the VAL queries in corpus order with a FIXED sample of relevant IDs (its own
 * seed, independent of the training stream), so every epoch's val loss is measured on the same
 * pairs and can be compared to pick the best epoch.
 */
export function validationItems(corpus: Corpus, maxTargets: number, seed: number): BatchItem[] {
  return queryItems(queriesOf(corpus, 'val'), maxTargets, new Rng(seed ^ 0x7a11d));
}

function queryItems(queries: ImageRecord[], maxTargets: number, rng: Rng): BatchItem[] {
  const items: BatchItem[] = [];
  for (const q of queries) {
    if (q.role === 'indexed') throw new Error(`record row ${q.row} is indexed, not a query`);
    if (q.relevantIds.length === 0) continue;
    items.push({ row: q.row, targetIds: sampleIds(q.relevantIds, maxTargets, rng) });
  }
  return items;
}

/** Up to `max` distinct IDs, in ascending order; all of them (no draw) when they fit. */
export function sampleIds(ids: readonly number[], max: number, rng: Rng): number[] {
  if (ids.length <= max) return [...ids];
  const pool = [...ids];
  // Partial Fisher-Yates: the first `max` slots become a uniform sample without replacement.
  for (let i = 0; i < max; i++) {
    const j = i + rng.int(pool.length - i);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, max).sort((a, b) => a - b);
}

/** Cut items into batches of `batchSize` images (the last one may be smaller). */
export function* batchesOf(corpus: Corpus, items: readonly BatchItem[], batchSize: number, pixelsOf?: ItemPixels): Generator<TrainBatch> {
  for (let start = 0; start < items.length; start += batchSize) {
    yield makeBatch(corpus, items.slice(start, start + batchSize), pixelsOf);
  }
}

export function makeBatch(corpus: Corpus, items: readonly BatchItem[], pixelsOf?: ItemPixels): TrainBatch {
  const imageBytes = corpus.imageSize * corpus.imageSize * 3;
  const seqLen = sequenceLength(corpus.idLength);
  const targetCount = items.reduce((n, it) => n + it.targetIds.length, 0);
  const images = new Uint8Array(items.length * imageBytes);
  const targets = new Int32Array(targetCount * seqLen);
  const targetImage = new Int32Array(targetCount);
  const codes = idCodes(corpus);
  let t = 0;
  items.forEach((item, i) => {
    const pixels = imagePixels(corpus, item.row);
    images.set(pixelsOf ? pixelsOf(item, pixels) : pixels, i * imageBytes);
    for (const id of item.targetIds) {
      targets.set(encodeCode(codes[id], corpus.idLength), t * seqLen);
      targetImage[t] = i;
      t++;
    }
  });
  return { images, imageCount: items.length, targets, targetCount, targetImage };
}

/** Number of batches an epoch of `items` takes (for progress bars). */
export function batchCount(items: readonly BatchItem[], batchSize: number): number {
  return Math.ceil(items.length / batchSize);
}
