/**
 * Paired differences between models scored on the same queries. Two models' 95% intervals can
 * overlap while one is better on almost every query: the per-model intervals answer "how good is
 * A", not "is A better than B". Bootstrapping the per-query differences (each resample takes the
 * same queries for both models) answers the second, and is what a claim "DSI beats BoVW" needs.
 */
import type { EvalConfig } from '../config/sections/eval.ts';
import { bootstrapMean, type Estimate } from './bootstrap.ts';
import { averagePrecisionAtK, precisionAtK, relevanceOf } from './metrics.ts';
import type { ModelKind, PairedDifference, RankedQuery, Verdict } from './types.ts';

export interface ScoredModel {
  kind: ModelKind;
  label: string;
  /** Ranked over the evaluated queries, in one order shared by every model. */
  queries: readonly RankedQuery[];
}

/**
 * The pairs a reader compares: each DSI model against each baseline (BoVW, dense), and fine-tuned
 * against zero-shot (what fine-tuning bought). A pair is "A - B"; positive means A is better.
 */
const PAIRS: ReadonlyArray<[ModelKind, ModelKind]> = [
  ['fine-tuned', 'bovw'],
  ['fine-tuned', 'dense'],
  ['fine-tuned', 'zero-shot'],
  ['zero-shot', 'bovw'],
  ['zero-shot', 'dense'],
];

// Salts apart from the per-model ones in protocols.ts, so no interval shares another's resamples.
const PRECISION_SALT = 0x5d11;
const MAP_SALT = 0x5d22;

export function pairedDifferences(models: readonly ScoredModel[], cfg: EvalConfig): PairedDifference[] {
  const byKind = new Map(models.map((m) => [m.kind, m]));
  const out: PairedDifference[] = [];
  for (const [a, b] of PAIRS) {
    const ma = byKind.get(a);
    const mb = byKind.get(b);
    if (!ma || !mb) continue;
    if (ma.queries.length !== mb.queries.length || ma.queries.some((q, i) => q.key !== mb.queries[i].key)) {
      throw new Error(`paired differences: ${ma.label} and ${mb.label} were not scored on the same queries in the same order`);
    }
    const precision: number[] = [];
    const ap: number[] = [];
    ma.queries.forEach((qa, i) => {
      const qb = mb.queries[i];
      const rel = relevanceOf(qa.relevant);
      precision.push(precisionAtK(qa.ids, rel, cfg.map_k) - precisionAtK(qb.ids, rel, cfg.map_k));
      const apA = averagePrecisionAtK(qa.ids, rel, cfg.map_k);
      const apB = averagePrecisionAtK(qb.ids, rel, cfg.map_k);
      // AP is undefined for a query without relevant images: for both models alike, so it drops out of the pair.
      if (apA !== null && apB !== null) ap.push(apA - apB);
    });
    const ci = (values: number[], salt: number): Estimate => bootstrapMean(values, cfg.bootstrap, (cfg.seed ^ salt) >>> 0);
    const p = ci(precision, PRECISION_SALT);
    out.push({
      a,
      b,
      labelA: ma.label,
      labelB: mb.label,
      queries: ma.queries.length,
      mapK: cfg.map_k,
      precision: p,
      map: ci(ap, MAP_SALT),
      verdict: verdictOf(p),
    });
  }
  return out;
}

/** On P@K: "above" or "below" only when the paired interval excludes 0; otherwise "level". */
export function verdictOf(diff: Estimate): Verdict {
  if (diff.n === 0 || Number.isNaN(diff.low)) return 'level';
  if (diff.low > 0) return 'above';
  if (diff.high < 0) return 'below';
  return 'level';
}
