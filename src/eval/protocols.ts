/**
 * The two evaluation protocols, as pure functions from rankings to numbers.
 *
 * reference: what the reference notebook reported, computed correctly: its "MAP@10" is the mean
 *   P@10 over `map_n` test queries sampled with the seed; Recall@100 is over `recall_n` sampled
 *   test queries (a second, independent sample, as the notebook drew them separately).
 * full: every metric over all queries of a set, each with a seeded 95% bootstrap interval.
 */
import type { EvalConfig } from '../config/sections/eval.ts';
import { Rng } from '../runtime/rng.ts';
import { bootstrapMean, type Estimate } from './bootstrap.ts';
import { averagePrecisionAtK, ndcgAtK, precisionAtK, recallAtK, relevanceOf } from './metrics.ts';
import type { FullMetrics, RankedQuery, ReferenceMetrics } from './types.ts';

/** `n` distinct indices out of `count`, seeded (all of them, shuffled, when n >= count). */
export function sampleIndices(count: number, n: number, seed: number): number[] {
  const all = Array.from({ length: count }, (_, i) => i);
  return new Rng(seed).shuffle(all).slice(0, Math.min(n, count));
}

// Different salts so the two reference samples are independent draws from one seed.
const MAP_SAMPLE_SALT = 0x4d4150;
const RECALL_SAMPLE_SALT = 0x52313030;

export function referenceProtocol(queries: readonly RankedQuery[], cfg: EvalConfig): ReferenceMetrics {
  const mapSample = sampleIndices(queries.length, cfg.map_n, cfg.seed ^ MAP_SAMPLE_SALT).map((i) => queries[i]);
  const recallSample = sampleIndices(queries.length, cfg.recall_n, cfg.seed ^ RECALL_SAMPLE_SALT).map((i) => queries[i]);
  const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN);
  const precisions = mapSample.map((q) => precisionAtK(q.ids, relevanceOf(q.relevant), cfg.map_k));
  const trueAp = mapSample.map((q) => averagePrecisionAtK(q.ids, relevanceOf(q.relevant), cfg.map_k)).filter((v): v is number => v !== null);
  // The reference caps recall at 1; with unique IDs it never exceeds 1, the cap is kept for fidelity.
  const recalls = recallSample
    .map((q) => recallAtK(q.ids, relevanceOf(q.relevant), cfg.recall_k))
    .filter((v): v is number => v !== null)
    .map((v) => Math.min(1, v));
  return {
    mapK: cfg.map_k,
    recallK: cfg.recall_k,
    refMap: mean(precisions),
    recall: mean(recalls),
    trueMap: mean(trueAp),
    mapQueries: mapSample.map((q) => q.key),
    recallQueries: recallSample.map((q) => q.key),
  };
}

export function fullProtocol(queries: readonly RankedQuery[], cfg: EvalConfig): FullMetrics {
  const perQuery = (f: (q: RankedQuery) => number | null) => queries.map(f).filter((v): v is number => v !== null);
  const withRelevant = queries.filter((q) => q.relevant.length > 0).length;
  // One seed per metric: intervals do not share resamples, and adding a metric changes no other.
  const ci = (values: number[], salt: number): Estimate => bootstrapMean(values, cfg.bootstrap, (cfg.seed ^ salt) >>> 0);
  return {
    queries: queries.length,
    withoutRelevant: queries.length - withRelevant,
    mapK: cfg.map_k,
    recallK: cfg.recall_k,
    precision: ci(perQuery((q) => precisionAtK(q.ids, relevanceOf(q.relevant), cfg.map_k)), 0x11),
    map: ci(perQuery((q) => averagePrecisionAtK(q.ids, relevanceOf(q.relevant), cfg.map_k)), 0x22),
    recall: ci(perQuery((q) => recallAtK(q.ids, relevanceOf(q.relevant), cfg.recall_k)), 0x33),
    ndcg: ci(perQuery((q) => ndcgAtK(q.ids, relevanceOf(q.relevant), cfg.map_k)), 0x44),
  };
}
