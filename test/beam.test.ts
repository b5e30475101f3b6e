import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BEGIN, END } from '../src/data/ids.ts';
import { IdTrie } from '../src/decode/trie.ts';
import { beamSearch, greedyDecode, type ScoreRequest } from '../src/decode/beam.ts';
import * as tf from '@tensorflow/tfjs-core';
import { modelScorer, searchWithModel } from '../src/decode/model-search.ts';
import { modelFromState } from '../src/model/dsi-model.ts';
import type { DsiModel } from '../src/model/types.ts';
import { initBackend } from '../src/runtime/backend.ts';
import { modelShapeOf } from '../src/runs/checkpoint.ts';
import type { Corpus } from '../src/data/types.ts';
import { memorisingConfig, trainMemorisingModel } from './helpers/memorised-run.ts';
import { tinyCorpus } from './train-fixtures.ts';
import { peaked, randomLogProbs, scorerFrom, sequenceScore } from './helpers/synthetic-scorer.ts';

// 0..130 holds IDs of 1, 2 and 3 digits, including pairs like 7 / 70 / 70x that share a prefix.
const IDS = Array.from({ length: 131 }, (_, i) => i);
const trie = new IdTrie(IDS);
const random = (seed: number, sharpness = 3) => (r: ScoreRequest) => randomLogProbs(seed, r.query, r.prefix, sharpness);

/** Exact top-K by enumerating every ID (ties by ascending ID, like the search). */
function bruteForceTopK(fn: (r: ScoreRequest) => Float32Array, query: number, ids: number[], k: number) {
  return ids
    .map((id) => ({ id, score: sequenceScore(fn, query, id) }))
    .sort((a, b) => b.score - a.score || a.id - b.id)
    .slice(0, k);
}

function assertWellFormed(ids: number[], scores: number[], valid: IdTrie) {
  assert.equal(new Set(ids).size, ids.length, 'IDs are unique');
  for (const id of ids) assert.ok(valid.has(id), `ID ${id} is indexed`);
  for (let i = 1; i < scores.length; i++) assert.ok(scores[i - 1] >= scores[i], 'scores are sorted best first');
}

describe('ID trie', () => {
  it('allows END and digits where an ID is also a prefix ("7" and "70")', () => {
    assert.deepEqual(trie.allowedTokens(trie.walk([7])!), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, END]);
    assert.deepEqual(trie.allowedTokens(trie.walk([1, 3])!), [0, END]); // 13, 130
    assert.deepEqual(trie.allowedTokens(trie.walk([0])!), [END]); // no leading zeros
    assert.equal(trie.walk([1, 4, 0]), null);
    assert.equal(trie.size, 131);
    assert.equal(trie.maxDigits, 3);
    assert.ok(trie.has(130) && !trie.has(131), 'trie.has(130) && !trie.has(131)');
  });
});

describe('constrained beam search (synthetic scorer)', () => {
  it('with a beam as wide as the database it returns exactly the K most likely IDs', async () => {
    for (const seed of [1, 2, 3]) {
      const fn = random(seed, 2);
      const [res] = await beamSearch(1, scorerFrom(fn), trie, { beamWidth: 200, topK: 100, constrained: true, maxDigits: 3 });
      const exact = bruteForceTopK(fn, 0, IDS, 100);
      assert.deepEqual(res.ids, exact.map((e) => e.id));
      res.scores.forEach((s, i) => assert.ok(Math.abs(s - exact[i].score) < 1e-4, `score ${s} vs ${exact[i].score}`));
    }
  });

  it('returns K valid, unique IDs sorted by score for a narrower beam, K up to 100', async () => {
    for (const k of [1, 10, 100]) {
      const results = await beamSearch(4, scorerFrom(random(9)), trie, { beamWidth: k, topK: k, constrained: true, maxDigits: 3 });
      for (const r of results) {
        assert.equal(r.ids.length, k);
        assert.equal(r.invalid, 0);
        assertWellFormed(r.ids, r.scores, trie);
      }
    }
  });

  it('returns every ID when K exceeds the database', async () => {
    const small = new IdTrie([0, 1, 2, 10, 11]);
    const [r] = await beamSearch(1, scorerFrom(random(4)), small, { beamWidth: 50, topK: 50, constrained: true, maxDigits: 2 });
    assert.deepEqual([...r.ids].sort((a, b) => a - b), [0, 1, 2, 10, 11]);
  });

  it('reaches both an ID and its extension ("7" and "70"), ranked by their probabilities', async () => {
    // P("7" END) = 0.9 * 0.4 = 0.36; P("70" END) = 0.9 * 0.5 * 0.9 = 0.405
    const fn = (r: ScoreRequest) => {
      const p = r.prefix.join('');
      if (p === '') return peaked(7, 0.9);
      if (p === '7') {
        const lp = peaked(0, 0.5);
        lp[END] = Math.log(0.4);
        return lp;
      }
      return peaked(END, 0.9);
    };
    const [r] = await beamSearch(1, scorerFrom(fn), trie, { beamWidth: 2, topK: 2, constrained: true, maxDigits: 3 });
    assert.deepEqual(r.ids, [70, 7]);
    assert.ok(Math.abs(r.scores[0] - Math.log(0.405)) < 1e-5 && Math.abs(r.scores[1] - Math.log(0.36)) < 1e-5, 'Math.abs(r.scores[0] - Math.log(0.405)) < 1e-5 && Math.abs(r.scores[1] - Math.log(0.36)) < 1e-5');
  });

  it('beam width 1 is greedy decoding restricted to the trie', async () => {
    const fn = random(5, 4);
    const results = await beamSearch(6, scorerFrom(fn), trie, { beamWidth: 1, topK: 1, constrained: true, maxDigits: 3 });
    for (let q = 0; q < 6; q++) {
      // Greedy by hand: at each node take the most likely allowed token.
      let digits: number[] = [];
      let score = 0;
      for (;;) {
        const lp = fn({ query: q, prefix: digits });
        const best = trie.allowedTokens(trie.walk(digits)!).reduce((a, b) => (lp[b] > lp[a] ? b : a));
        score += lp[best];
        if (best === END) break;
        digits = [...digits, best];
      }
      assert.deepEqual(results[q].ids, [Number(digits.join(''))]);
      assert.ok(Math.abs(results[q].scores[0] - score) < 1e-5, 'Math.abs(results[q].scores[0] - score) < 1e-5');
    }
  });

  it('top-1 equals unconstrained greedy decoding whenever greedy writes a valid ID', async () => {
    let compared = 0;
    for (let seed = 0; seed < 30; seed++) {
      const fn = random(100 + seed, 8); // peaked distributions, like a trained model's
      const greedy = await greedyDecode(20, scorerFrom(fn), trie, 3);
      const beams = await beamSearch(20, scorerFrom(fn), trie, { beamWidth: 10, topK: 10, constrained: true, maxDigits: 3 });
      greedy.forEach((g, q) => {
        if (g.id === null) return;
        compared++;
        // Beam search may find a better sequence than greedy, never a worse top-1.
        assert.ok(beams[q].scores[0] >= g.score - 1e-6, 'beams[q].scores[0] >= g.score - 1e-6');
        if (beams[q].ids[0] !== g.id) assert.ok(beams[q].scores[0] > g.score, 'beams[q].scores[0] > g.score');
      });
    }
    assert.ok(compared > 10, `only ${compared} greedy decodes were valid`);
  });

  it('gives each query the same result whether decoded alone or in a batch, one scorer call per step', async () => {
    const fn = random(11);
    const batched = scorerFrom(fn);
    const together = await beamSearch(5, batched, trie, { beamWidth: 10, topK: 10, constrained: true, maxDigits: 3 });
    assert.ok(batched.calls <= 4, `${batched.calls} scorer calls for 3-digit IDs`);
    for (let q = 0; q < 5; q++) {
      const alone = await beamSearch(1, scorerFrom((r) => fn({ ...r, query: q })), trie, { beamWidth: 10, topK: 10, constrained: true, maxDigits: 3 });
      assert.deepEqual(alone[0].ids, together[q].ids);
    }
  });

  it('refuses a beam narrower than K', async () => {
    await assert.rejects(beamSearch(1, scorerFrom(random(1)), trie, { beamWidth: 5, topK: 10, constrained: true, maxDigits: 3 }), /at least K/);
  });
});

describe('unconstrained beam search', () => {
  it('drops and counts IDs that do not exist instead of replacing them', async () => {
    // The model's favourite is "99" + "9" = 999 (not indexed), then 12 (indexed).
    const fn = (r: ScoreRequest) => {
      const p = r.prefix.join('');
      if (p === '') return peaked(9, 0.7);
      if (p === '9' || p === '99') return peaked(9, 0.95);
      if (p === '1') return peaked(2, 0.95);
      return peaked(END, 0.95);
    };
    const [r] = await beamSearch(1, scorerFrom(fn), trie, { beamWidth: 3, topK: 3, constrained: false, maxDigits: 3 });
    assert.ok(!r.ids.includes(999) && !r.ids.includes(998), '!r.ids.includes(999) && !r.ids.includes(998)');
    assert.ok(r.invalid >= 1, 'the invalid favourite is counted');
    assert.equal(r.ids.length + r.invalid, 3);
    assertWellFormed(r.ids, r.scores, trie);
    const [constrained] = await beamSearch(1, scorerFrom(fn), trie, { beamWidth: 3, topK: 3, constrained: true, maxDigits: 3 });
    assert.equal(constrained.ids.length, 3);
  });

  it('treats BEGIN/PAD tokens, leading zeros and over-long IDs as invalid', async () => {
    const cases: [string, (r: ScoreRequest) => Float32Array][] = [
      ['PAD', () => peaked(12, 0.99)],
      ['BEGIN', () => peaked(BEGIN, 0.99)],
      ['leading zero', (r) => (r.prefix.length === 0 ? peaked(0, 0.99) : r.prefix.length === 1 ? peaked(5, 0.99) : peaked(END, 0.99))],
      ['too long', (r) => (r.prefix.length < 4 ? peaked(1, 0.99) : peaked(END, 0.99))],
    ];
    for (const [what, fn] of cases) {
      const [g] = await greedyDecode(1, scorerFrom(fn), trie, 3);
      assert.equal(g.id, null, `${what}: greedy writes no valid ID`);
      const [r] = await beamSearch(1, scorerFrom(fn), trie, { beamWidth: 1, topK: 1, constrained: false, maxDigits: 3 });
      assert.deepEqual(r.ids, [], what);
      assert.equal(r.invalid, 1, what);
    }
  });

  it('width 1 equals greedy decoding when greedy is valid', async () => {
    for (let seed = 0; seed < 10; seed++) {
      const fn = random(300 + seed, 8);
      const greedy = await greedyDecode(3, scorerFrom(fn), trie, 3);
      const beams = await beamSearch(3, scorerFrom(fn), trie, { beamWidth: 1, topK: 1, constrained: false, maxDigits: 3 });
      greedy.forEach((g, q) => assert.deepEqual(beams[q].ids, g.id === null ? [] : [g.id]));
    }
  });
});

describe('beam search with a tiny trained model (real photos)', () => {
  let corpus: Corpus;
  let model: DsiModel;
  let trieOfCorpus: IdTrie;
  let memory: tf.Tensor3D;
  let images: Uint8Array;

  before(async () => {
    const backend = await initBackend('wasm');
    corpus = await tinyCorpus(4);
    const config = memorisingConfig();
    const { indexing } = await trainMemorisingModel(corpus, config, backend, 0);
    model = modelFromState(config.model, modelShapeOf(corpus), indexing.weights);
    trieOfCorpus = new IdTrie(corpus.indexedRows.map((_, id) => id));
    const per = corpus.imageSize ** 2 * 3;
    images = new Uint8Array(corpus.records.length * per);
    corpus.records.forEach((r, i) => images.set(corpus.pixels.subarray(r.row * per, (r.row + 1) * per), i * per));
    memory = tf.tidy(() => model.encode(tf.tensor4d(Float32Array.from(images), [corpus.records.length, corpus.imageSize, corpus.imageSize, 3]), { training: false }));
  });

  it('constrained top-1 equals greedy decoding whenever greedy writes a valid ID, and width 1 is greedy', async () => {
    const n = corpus.records.length; // indexed images and queries alike
    const scorer = modelScorer(model, memory);
    const greedy = await greedyDecode(n, scorer, trieOfCorpus, corpus.idLength);
    const wide = await beamSearch(n, scorer, trieOfCorpus, { beamWidth: 10, topK: 10, constrained: true, maxDigits: corpus.idLength });
    const narrow = await beamSearch(n, scorer, trieOfCorpus, { beamWidth: 1, topK: 1, constrained: true, maxDigits: corpus.idLength });
    let valid = 0;
    greedy.forEach((g, q) => {
      assertWellFormed(wide[q].ids, wide[q].scores, trieOfCorpus);
      assert.equal(wide[q].ids.length, 10);
      if (g.id === null) return;
      valid++;
      assert.equal(wide[q].ids[0], g.id, `query ${q}: beam top-1 vs greedy`);
      assert.deepEqual(narrow[q].ids, [g.id]);
      assert.ok(Math.abs(wide[q].scores[0] - g.score) < 1e-4, 'Math.abs(wide[q].scores[0] - g.score) < 1e-4');
    });
    // The memorised model writes every indexed image's own ID greedily.
    assert.ok(valid >= corpus.indexedRows.length, `${valid} valid greedy decodes`);
    corpus.indexedRows.forEach((row, id) => assert.equal(greedy[corpus.records.findIndex((r) => r.row === row)].id, id));
  });

  it('cached (incremental) decoding ranks exactly like re-running the whole prefix, at any K and batch split, leaking no tensors', async () => {
    const count = corpus.records.length;
    const ids = corpus.indexedRows.length;
    const input = { pixels: images, count, imageSize: corpus.imageSize };
    // K = 1 (greedy), a few, every ID, and more than there are IDs (wider than any step's live
    // prefixes); batches of all queries and of 5 and 7 (splits that leave a short last batch).
    const cases = [
      { k: 1, batchSize: 5 },
      { k: 5, batchSize: 7 },
      { k: ids, batchSize: count },
      { k: ids + 7, batchSize: 5 },
    ];
    assert.ok(count % 5 !== 0 && count % 7 !== 0, `${count} queries: the batches of 5 and 7 leave a short last one`);
    for (const { k, batchSize } of cases) {
      const opts = { beamWidth: k, topK: k, constrained: true, batchSize };
      const before = tf.memory().numTensors;
      const cached = await searchWithModel(model, trieOfCorpus, input, opts);
      assert.equal(tf.memory().numTensors, before, `K = ${k}: cached search leaks no tensor`);
      const plain = await searchWithModel(model, trieOfCorpus, input, { ...opts, uncached: true });
      assert.equal(tf.memory().numTensors, before, `K = ${k}: uncached search leaks no tensor`);
      plain.results.forEach((r, q) => {
        assert.equal(r.ids.length, Math.min(k, ids));
        assert.deepEqual(cached.results[q].ids, r.ids, `K = ${k}, query ${q}`);
        r.scores.forEach((s, i) => assert.ok(Math.abs(s - cached.results[q].scores[i]) < 1e-4, `K = ${k}, query ${q}, rank ${i}`));
      });
    }
  });

  it('searchWithModel batches queries without changing results and leaks no tensors', async () => {
    const count = corpus.records.length;
    const opts = { beamWidth: 12, topK: 12, constrained: true };
    const before = tf.memory().numTensors;
    const one = await searchWithModel(model, trieOfCorpus, { pixels: images, count, imageSize: corpus.imageSize }, { ...opts, batchSize: count });
    const three = await searchWithModel(model, trieOfCorpus, { pixels: images, count, imageSize: corpus.imageSize }, { ...opts, batchSize: 3 });
    assert.equal(tf.memory().numTensors, before);
    one.results.forEach((r, q) => {
      assert.deepEqual(three.results[q].ids, r.ids);
      r.scores.forEach((s, i) => assert.ok(Math.abs(s - three.results[q].scores[i]) < 1e-4, 'Math.abs(s - three.results[q].scores[i]) < 1e-4'));
      assert.deepEqual([...r.ids].sort((a, b) => a - b), corpus.indexedRows.map((_, id) => id), 'K = database size returns every ID once');
    });
  });
});
