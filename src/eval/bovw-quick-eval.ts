import type { Corpus } from '../data/types.ts';
import { queriesOf } from '../data/types.ts';
import { rankRowsByBovw, type BovwIndex } from '../bovw/bovw-index.ts';
import { averagePrecisionAtK, precisionAtK, recallAtK, relevanceOf, meanOf } from './metrics.ts';

/** The numbers `dsi bovw` prints after building: P@10, true MAP@10 and Recall@100 over every test query. */
export interface BovwQuickEval {
  queries: number;
  precisionAt10: number;
  /** Mean of the standard AP@10 (not the reference's "MAP@10", which is a mean P@10). */
  mapAt10: number;
  recallAt100: number;
  /** P@10 of a random ranking: the mean fraction of indexed images relevant to a query. */
  chancePrecision: number;
  msPerQuery: number;
}

/** `role` 'test' = the held-out test queries; 'all' = every query image (train, val and test). */
export function quickEvaluate(index: BovwIndex, corpus: Corpus, role: 'test' | 'all' = 'test'): BovwQuickEval {
  const queries = queriesOf(corpus, role === 'all' ? undefined : 'test');
  const started = performance.now();
  const lists = rankRowsByBovw(index, corpus, queries.map((q) => q.row), 100);
  const msPerQuery = queries.length ? (performance.now() - started) / queries.length : 0;
  const p10 = queries.map((q, i) => precisionAtK(lists[i].ids, relevanceOf(q.relevantIds), 10));
  const ap10 = queries.map((q, i) => averagePrecisionAtK(lists[i].ids, relevanceOf(q.relevantIds), 10));
  const r100 = queries.map((q, i) => recallAtK(lists[i].ids, relevanceOf(q.relevantIds), 100));
  const chance = queries.map((q) => q.relevantIds.length / Math.max(1, corpus.indexedRows.length));
  return {
    queries: queries.length,
    precisionAt10: meanOf(p10).mean,
    mapAt10: meanOf(ap10).mean,
    recallAt100: meanOf(r100).mean,
    chancePrecision: meanOf(chance).mean,
    msPerQuery,
  };
}
