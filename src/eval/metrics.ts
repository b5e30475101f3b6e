/**
 * Retrieval metrics as pure functions over plain arrays (no tfjs): a ranking is a list of
 * indexed-image IDs, best first; relevance is a list (or set) of IDs.
 *
 * Conventions every metric follows, so a table can say exactly what it measures:
 * - A ranking shorter than K (a model that returned fewer results, or K larger than the database)
 *   counts the missing ranks as non-relevant; P@K still divides by K.
 * - A query with no relevant images has P@K = 0 but undefined Recall@K, AP@K and nDCG@K: those
 *   return null and means skip them (and say how many they skipped).
 * - Ties in score are broken before metrics see the ranking (see `rankByScore`): metrics read ranks.
 */

/** A set of relevant IDs built once per query. */
export type Relevance = ReadonlySet<number>;

export function relevanceOf(ids: Iterable<number>): Relevance {
  return new Set(ids);
}

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new Error(`K must be a positive integer (got ${k})`);
}

/** A ranking must not name one image twice: that would count one relevant image twice. */
function assertUnique(ranked: readonly number[]): void {
  if (new Set(ranked).size !== ranked.length) throw new Error(`ranking lists an ID more than once: [${ranked.slice(0, 20).join(', ')}]`);
}

/** rel(i) for ranks 1..K (false past the end of the ranking). */
function relevantFlags(ranked: readonly number[], relevant: Relevance, k: number): boolean[] {
  checkK(k);
  assertUnique(ranked);
  const flags: boolean[] = [];
  for (let i = 0; i < k; i++) flags.push(i < ranked.length && relevant.has(ranked[i]));
  return flags;
}

function hitsAtK(ranked: readonly number[], relevant: Relevance, k: number): number {
  return relevantFlags(ranked, relevant, k).filter(Boolean).length;
}

/** P@K: relevant images among the first K ranks, divided by K. */
export function precisionAtK(ranked: readonly number[], relevant: Relevance, k: number): number {
  return hitsAtK(ranked, relevant, k) / k;
}

/** Recall@K: |relevant in the first K| / |relevant| (null without relevant images). */
export function recallAtK(ranked: readonly number[], relevant: Relevance, k: number): number | null {
  if (relevant.size === 0) return null;
  return hitsAtK(ranked, relevant, k) / relevant.size;
}

/**
 * AP@K = sum over ranks i <= K of P@i * rel(i), divided by min(K, |relevant|), so a perfect
 * ranking scores 1 even when a query has more than K relevant images.
 */
export function averagePrecisionAtK(ranked: readonly number[], relevant: Relevance, k: number): number | null {
  if (relevant.size === 0) return null;
  const flags = relevantFlags(ranked, relevant, k);
  let hits = 0;
  let sum = 0;
  flags.forEach((rel, i) => {
    if (!rel) return;
    hits += 1;
    sum += hits / (i + 1);
  });
  return sum / Math.min(k, relevant.size);
}

/** nDCG@K with binary gains: sum rel(i) / log2(i + 1), over the same for an ideal ranking. */
export function ndcgAtK(ranked: readonly number[], relevant: Relevance, k: number): number | null {
  if (relevant.size === 0) return null;
  const flags = relevantFlags(ranked, relevant, k);
  let dcg = 0;
  flags.forEach((rel, i) => {
    if (rel) dcg += 1 / Math.log2(i + 2);
  });
  let ideal = 0;
  for (let i = 0; i < Math.min(k, relevant.size); i++) ideal += 1 / Math.log2(i + 2);
  return dcg / ideal;
}

/** IA@K for one indexed image: 1 when its own ID is among the first K, else 0. */
export function ownIdHitAtK(ranked: readonly number[], ownId: number, k: number): number {
  checkK(k);
  return ranked.slice(0, k).includes(ownId) ? 1 : 0;
}

/** IA@K over every indexed image: the fraction whose own ID is in their top K. */
export function indexingAccuracyAtK(rankings: readonly (readonly number[])[], ownIds: readonly number[], k: number): number {
  if (rankings.length !== ownIds.length) throw new Error(`${rankings.length} rankings for ${ownIds.length} indexed images`);
  if (rankings.length === 0) return Number.NaN;
  let hits = 0;
  rankings.forEach((r, i) => (hits += ownIdHitAtK(r, ownIds[i], k)));
  return hits / rankings.length;
}

export interface MeanOf {
  /** Mean over the queries where the metric is defined (NaN when none is). */
  mean: number;
  /** Queries that counted. */
  n: number;
  /** Queries left out because the metric is undefined for them (no relevant images). */
  skipped: number;
}

/** Mean of per-query values, skipping nulls (undefined metrics) and saying how many. */
export function meanOf(values: readonly (number | null)[]): MeanOf {
  const defined = values.filter((v): v is number => v !== null);
  const mean = defined.length ? defined.reduce((a, b) => a + b, 0) / defined.length : Number.NaN;
  return { mean, n: defined.length, skipped: values.length - defined.length };
}

/** MAP@K: mean of AP@K over queries with at least one relevant image. */
export function meanAveragePrecisionAtK(rankings: readonly (readonly number[])[], relevant: readonly Relevance[], k: number): MeanOf {
  return meanOf(rankings.map((r, i) => averagePrecisionAtK(r, relevant[i], k)));
}

/**
 * IDs ordered by score, best first; equal scores are ordered by ascending ID so every model's
 * ranking (and so every metric) is deterministic whatever order the scores were produced in.
 */
export function rankByScore(ids: readonly number[], scores: readonly number[]): { ids: number[]; scores: number[] } {
  if (ids.length !== scores.length) throw new Error(`${ids.length} IDs but ${scores.length} scores`);
  const order = ids.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || ids[a] - ids[b]);
  return { ids: order.map((i) => ids[i]), scores: order.map((i) => scores[i]) };
}
