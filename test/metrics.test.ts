import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  averagePrecisionAtK,
  indexingAccuracyAtK,
  meanAveragePrecisionAtK,
  meanOf,
  ndcgAtK,
  precisionAtK,
  rankByScore,
  recallAtK,
  relevanceOf,
} from '../src/eval/metrics.ts';
import { bootstrapMean } from '../src/eval/bootstrap.ts';

const close = (actual: number | null, expected: number, what: string) => {
  assert.ok(actual !== null, `${what} is null`);
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);
};

describe('retrieval metrics (hand-computed)', () => {
  // Ranks:      1  2  3  4  5
  const ranked = [3, 1, 7, 2, 9];
  const relevant = relevanceOf([1, 2, 5]); // relevant at ranks 2 and 4; ID 5 never retrieved

  it('P@K counts relevant in the first K and divides by K', () => {
    close(precisionAtK(ranked, relevant, 1), 0, 'P@1');
    close(precisionAtK(ranked, relevant, 2), 1 / 2, 'P@2');
    close(precisionAtK(ranked, relevant, 5), 2 / 5, 'P@5');
  });

  it('Recall@K divides by the number of relevant images', () => {
    close(recallAtK(ranked, relevant, 1), 0, 'R@1');
    close(recallAtK(ranked, relevant, 5), 2 / 3, 'R@5');
  });

  it('AP@K sums P@i at relevant ranks over min(K, |relevant|)', () => {
    // K=5: (P@2 + P@4) / min(5,3) = (1/2 + 2/4) / 3
    close(averagePrecisionAtK(ranked, relevant, 5), 1 / 3, 'AP@5');
    // K=2: P@2 / min(2,3) = (1/2) / 2
    close(averagePrecisionAtK(ranked, relevant, 2), 1 / 4, 'AP@2');
    // a perfect top-2 for a query with 5 relevant images is AP 1, not 2/5
    close(averagePrecisionAtK([1, 2], relevanceOf([1, 2, 3, 4, 5]), 2), 1, 'AP@2 perfect');
  });

  it('nDCG@K uses binary gains and log2(rank + 1) discounts', () => {
    const dcg = 1 / Math.log2(3) + 1 / Math.log2(5);
    const ideal = 1 + 1 / Math.log2(3) + 1 / Math.log2(4);
    close(ndcgAtK(ranked, relevant, 5), dcg / ideal, 'nDCG@5');
    close(ndcgAtK([1, 2, 5], relevant, 3), 1, 'nDCG of the ideal ranking');
  });

  it('treats missing ranks as non-relevant when fewer than K results come back', () => {
    const short = [1];
    const rel = relevanceOf([1, 2]);
    close(precisionAtK(short, rel, 10), 1 / 10, 'P@10');
    close(recallAtK(short, rel, 10), 1 / 2, 'R@10');
    close(averagePrecisionAtK(short, rel, 10), 1 / 2, 'AP@10'); // (P@1) / min(10, 2)
    close(ndcgAtK(short, rel, 10), 1 / (1 + 1 / Math.log2(3)), 'nDCG@10');
    close(precisionAtK([], rel, 10), 0, 'P@10 of an empty ranking');
  });

  it('handles K larger than the database', () => {
    const db = [0, 1, 2, 3];
    const rel = relevanceOf([0, 1]);
    close(precisionAtK(db, rel, 100), 2 / 100, 'P@100');
    close(recallAtK(db, rel, 100), 1, 'R@100');
    close(averagePrecisionAtK(db, rel, 100), 1, 'AP@100');
  });

  it('queries with no relevant images: P@K is 0, the others undefined and skipped by means', () => {
    const none = relevanceOf([]);
    close(precisionAtK([1, 2], none, 2), 0, 'P@2');
    assert.equal(recallAtK([1, 2], none, 2), null);
    assert.equal(averagePrecisionAtK([1, 2], none, 2), null);
    assert.equal(ndcgAtK([1, 2], none, 2), null);
    const map = meanAveragePrecisionAtK([[1, 2], [3]], [none, relevanceOf([3])], 2);
    assert.deepEqual(map, { mean: 1, n: 1, skipped: 1 });
    assert.ok(Number.isNaN(meanOf([null]).mean), 'Number.isNaN(meanOf([null]).mean)');
  });

  it('ties in score are broken by ascending ID, so metrics are deterministic', () => {
    const r = rankByScore([5, 2, 9, 4], [0.5, 0.9, 0.5, 0.1]);
    assert.deepEqual(r.ids, [2, 5, 9, 4]);
    assert.deepEqual(r.scores, [0.9, 0.5, 0.5, 0.1]);
    // 9 is tied with 5 but ranked after it, so it is outside the top 2
    close(precisionAtK(r.ids, relevanceOf([9]), 2), 0, 'P@2 with a tie');
    close(precisionAtK(r.ids, relevanceOf([9]), 3), 1 / 3, 'P@3 with a tie');
  });

  it('refuses a ranking that lists an ID twice and a K below 1', () => {
    assert.throws(() => precisionAtK([1, 1], relevanceOf([1]), 2), /more than once/);
    assert.throws(() => precisionAtK([1], relevanceOf([1]), 0), /positive integer/);
  });

  it('IA@K: the fraction of indexed images whose own ID is in their top K', () => {
    const rankings = [[0, 1], [2, 1], [0, 2]];
    close(indexingAccuracyAtK(rankings, [0, 1, 2], 1), 1 / 3, 'IA@1');
    close(indexingAccuracyAtK(rankings, [0, 1, 2], 2), 1, 'IA@2');
    close(indexingAccuracyAtK([[]], [0], 5), 0, 'IA@5 of an empty ranking');
  });
});

describe('bootstrap confidence intervals', () => {
  const values = [0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1, 1];

  it('is repeatable for a seed and brackets the mean', () => {
    const a = bootstrapMean(values, 500, 3);
    const b = bootstrapMean(values, 500, 3);
    assert.deepEqual(a, b);
    close(a.mean, 7 / 12, 'mean');
    assert.ok(a.low < a.mean && a.mean < a.high, `${a.low} < ${a.mean} < ${a.high}`);
    // the interval of a 12-sample proportion near 0.5 is wide: about +-0.28
    assert.ok(a.high - a.low > 0.35 && a.high - a.low < 0.7, `width ${a.high - a.low}`);
    const spread = values.map((v, i) => v + i / 100); // continuous values: the seed shows
    assert.notDeepEqual(bootstrapMean(spread, 500, 4), bootstrapMean(spread, 500, 3));
  });

  it('narrows with more queries and collapses for constant values', () => {
    const many = Array.from({ length: 1200 }, (_, i) => values[i % values.length]);
    const wide = bootstrapMean(values, 300, 1);
    const narrow = bootstrapMean(many, 300, 1);
    assert.ok(narrow.high - narrow.low < (wide.high - wide.low) / 5, 'narrow.high - narrow.low < (wide.high - wide.low) / 5');
    assert.deepEqual(bootstrapMean([0.3, 0.3, 0.3], 100, 1), { mean: 0.3, low: 0.3, high: 0.3, n: 3 });
    assert.equal(bootstrapMean([], 100, 1).n, 0);
  });
});
