import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config/load.ts';
import { pairedDifferences, type ScoredModel } from '../src/eval/paired.ts';
import { fullProtocol } from '../src/eval/protocols.ts';
import type { RankedQuery } from '../src/eval/types.ts';

const cfg = loadConfig(null, []).config.eval;

/** A query whose relevant IDs are 0..9 and whose ranking has `hits` of them in its first 10. */
function query(key: string, hits: number, relevant = 10): RankedQuery {
  const ids = [...Array.from({ length: hits }, (_, i) => i), ...Array.from({ length: 100 - hits }, (_, i) => 1000 + i)];
  return { key, ids, scores: ids.map((_, i) => -i), relevant: Array.from({ length: relevant }, (_, i) => i) };
}

// Queries of very different difficulty: 0 to 9 hits for B, one more for A on every query.
const HITS = Array.from({ length: 60 }, (_, i) => i % 10);
const b: ScoredModel = { kind: 'bovw', label: 'BoVW', queries: HITS.map((h, i) => query(`q${i}`, Math.min(h, 9))) };
const a: ScoredModel = { kind: 'fine-tuned', label: 'fine-tuned', queries: HITS.map((h, i) => query(`q${i}`, Math.min(h, 9) + 1)) };

test('paired differences: one model better by 0.1 on every query is "above" even where the per-model intervals overlap', () => {
  const ownA = fullProtocol(a.queries, cfg).precision;
  const ownB = fullProtocol(b.queries, cfg).precision;
  assert.ok(ownA.low < ownB.high, `the per-model intervals overlap ([${ownA.low}, ${ownA.high}] vs [${ownB.low}, ${ownB.high}]): they cannot tell`);
  const [pair] = pairedDifferences([b, a], cfg);
  assert.equal(pair.a, 'fine-tuned');
  assert.equal(pair.b, 'bovw');
  assert.equal(pair.queries, 60);
  assert.ok(Math.abs(pair.precision.mean - 0.1) < 1e-12, `ΔP@10 ${pair.precision.mean}`);
  assert.ok(Math.abs(pair.precision.low - 0.1) < 1e-12 && Math.abs(pair.precision.high - 0.1) < 1e-12, 'every resample has the same difference');
  assert.ok(Math.abs(pair.precision.mean - (ownA.mean - ownB.mean)) < 1e-12, 'the mean difference is the difference of the means');
  assert.ok(pair.map.mean > 0, 'AP differs in the same direction');
  assert.equal(pair.verdict, 'above');

  const [reversed] = pairedDifferences([{ ...b, kind: 'fine-tuned' }, { ...a, kind: 'bovw' }], cfg);
  assert.equal(reversed.verdict, 'below');
});

test('paired differences: a noisy difference whose interval spans 0 is "level"; equal models differ by exactly 0', () => {
  // A wins by 3 on half the queries and loses by 3 on the other half: mean 0, wide interval.
  const noisy: ScoredModel = { kind: 'fine-tuned', label: 'fine-tuned', queries: HITS.map((h, i) => query(`q${i}`, i % 2 ? Math.min(h + 3, 10) : Math.max(h - 3, 0))) };
  const [pair] = pairedDifferences([noisy, b], cfg);
  assert.ok(pair.precision.low < 0 && pair.precision.high > 0, `[${pair.precision.low}, ${pair.precision.high}] spans 0`);
  assert.equal(pair.verdict, 'level');
  const same = pairedDifferences([b, { ...b, kind: 'zero-shot' }], cfg)[0];
  assert.deepEqual([same.precision.mean, same.precision.low, same.precision.high, same.verdict], [0, 0, 0, 'level']);
});

test('paired differences: the pairs a reader compares, AP without relevant images left out, mismatched queries refused', () => {
  const kinds = (['bovw', 'dense', 'zero-shot', 'fine-tuned'] as const).map((kind) => ({ ...a, kind, label: kind }));
  assert.deepEqual(pairedDifferences(kinds, cfg).map((p) => `${p.a}-${p.b}`), ['fine-tuned-bovw', 'fine-tuned-dense', 'fine-tuned-zero-shot', 'zero-shot-bovw', 'zero-shot-dense']);
  assert.deepEqual(pairedDifferences([b], cfg), [], 'one model: nothing to pair');

  const withEmpty = (m: ScoredModel): ScoredModel => ({ ...m, queries: [...m.queries, query('none', 0, 0)] });
  const [pair] = pairedDifferences([withEmpty(a), withEmpty(b)], cfg);
  assert.equal(pair.precision.n, 61, 'P@K counts a query without relevant images (as 0 for both)');
  assert.equal(pair.map.n, 60, 'AP@K is undefined there, so the pair leaves it out');

  const shuffled: ScoredModel = { ...b, queries: [...b.queries].reverse() };
  assert.throws(() => pairedDifferences([a, shuffled], cfg), /not scored on the same queries in the same order/);
});
