import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config/load.ts';
import { corpusHash } from '../src/data/cache.ts';
import { prepareCorpus } from '../src/data/corpus.ts';
import { END, PAD, encodeCode, hierarchicalCodes } from '../src/data/ids.ts';
import { semanticCodes } from '../src/data/semantic-ids.ts';
import { splitCorpus, type SplitImage } from '../src/data/split.ts';
import { idCodes } from '../src/data/types.ts';
import { beamSearch, greedyDecode, type NextTokenScorer } from '../src/decode/beam.ts';
import { IdTrie } from '../src/decode/trie.ts';
import { makeBatch } from '../src/train/batches.ts';
import { Rng } from '../src/runtime/rng.ts';
import { IMAGENETTE, tempDir } from './data-fixtures.ts';

process.env.DSI_NO_PROGRESS = '1';

function assertCodesRoundTrip(codes: string[]) {
  const length = codes[0].length;
  assert.ok(codes.every((c) => c.length === length), 'fixed length');
  assert.equal(new Set(codes).size, codes.length, 'unique');
  const trie = IdTrie.fromCodes(codes);
  assert.equal(trie.size, codes.length);
  codes.forEach((code, id) => {
    const tokens = encodeCode(code, length);
    assert.equal(tokens[length], END);
    assert.equal(trie.idOf(tokens), id, `code ${code} decodes to its ID`);
    assert.ok(trie.has(id), 'trie.has(id)');
  });
}

test('hierarchical codes: fixed length, class digits first, zero-padded, every code round-trips through the trie', () => {
  // 3 classes of 12, 5, 1 images: class digit + 2 item digits.
  const classOfId = [...Array(12).fill(0), ...Array(5).fill(1), 2];
  const codes = hierarchicalCodes(classOfId, 3);
  assert.deepEqual(codes.slice(0, 3), ['000', '001', '002']);
  assert.equal(codes[12], '100');
  assert.equal(codes[17], '200');
  assertCodesRoundTrip(codes);
  // 23 classes: two leading digits; the first names a group of ten classes.
  const many = Array.from({ length: 23 * 3 }, (_, i) => Math.floor(i / 3));
  const manyCodes = hierarchicalCodes(many, 23);
  assert.equal(manyCodes[22 * 3], '220');
  assert.equal(manyCodes[5 * 3 + 2], '052');
  assertCodesRoundTrip(manyCodes);
});

test('semantic codes: leaves never exceed the leaf size, codes round-trip, deterministic, degenerate embeddings still split', () => {
  const rng = new Rng(3);
  const n = 137;
  const dim = 5;
  const emb = Float32Array.from({ length: n * dim }, (_, i) => Math.floor(i / dim) % 4 + rng.next() * 0.1);
  for (const [k, leafSize] of [[10, 10], [3, 4], [2, 1]]) {
    const codes = semanticCodes(emb, n, dim, { k, leafSize, seed: 1 });
    assertCodesRoundTrip(codes);
    const leafWidth = String(leafSize - 1).length;
    const leaves = new Map<string, number>();
    for (const c of codes) leaves.set(c.slice(0, c.length - leafWidth), (leaves.get(c.slice(0, c.length - leafWidth)) ?? 0) + 1);
    for (const [prefix, size] of leaves) assert.ok(size <= leafSize, `leaf ${prefix} holds ${size} > ${leafSize}`);
    assert.deepEqual(semanticCodes(emb, n, dim, { k, leafSize, seed: 1 }), codes);
  }
  // Images of one embedding cluster share their first digit.
  const codes = semanticCodes(emb, n, dim, { k: 4, leafSize: 10, seed: 1 });
  for (let i = 4; i < n; i++) assert.equal(codes[i][0], codes[i % 4][0]);
  assertCodesRoundTrip(semanticCodes(new Float32Array(30 * 2), 30, 2, { k: 3, leafSize: 4, seed: 1 }));
});

test('split: hierarchical numbers IDs as clustered does and gives every image of a class the same leading digits', () => {
  const imgs: SplitImage[] = 'AAAAAAAAAAAABBBBBBBBBBBBCCCCCCCC'.split('').map((c) => ({ primaryClass: c, classes: [c] }));
  const rules = { retrievalFraction: 0.25, querySplit: [0.8, 0.1, 0.1] as [number, number, number], seed: 1, multiLabel: false };
  const clustered = splitCorpus(imgs, ['A', 'B', 'C'], { ...rules, idScheme: 'clustered' });
  const hier = splitCorpus(imgs, ['A', 'B', 'C'], { ...rules, idScheme: 'hierarchical' });
  assert.deepEqual(hier.ids, clustered.ids);
  assert.deepEqual(hier.relevantIds, clustered.relevantIds);
  assert.deepEqual(clustered.codes, clustered.indexedRows.map((_, id) => String(id)));
  hier.indexedRows.forEach((row, id) => assert.equal(hier.codes[id][0], String('ABC'.indexOf(imgs[row].primaryClass))));
});

test('data/samples: hierarchical and semantic corpora round-trip every code; batches and beam search speak codes; old hashes unchanged', async () => {
  const cacheRoot = tempDir('ids-cache');
  const base = ['data.source=folder', `data.root=${IMAGENETTE}`, 'data.num_images=400', 'data.min_images_per_class=40', 'data.image_size=32'];
  const clustered = loadConfig(null, base).config.data;
  assert.equal(corpusHash(clustered, 'x'), corpusHash({ ...clustered, semantic_k: 10 }, 'x'));
  assert.notEqual(corpusHash(clustered, 'x'), corpusHash({ ...clustered, semantic_k: 4 }, 'x'));
  for (const scheme of ['hierarchical', 'semantic']) {
    const corpus = await prepareCorpus(loadConfig(null, [...base, `data.id_scheme=${scheme}`, 'data.semantic_leaf_size=5']).config.data, { cacheRoot });
    const codes = idCodes(corpus);
    assert.equal(codes.length, 100);
    assertCodesRoundTrip(codes);
    assert.equal(corpus.idLength, codes[0].length);
    if (scheme === 'hierarchical') {
      assert.equal(corpus.idLength, 2);
      corpus.indexedRows.forEach((row, id) => assert.equal(codes[id][0], String(corpus.classNames.indexOf(corpus.records[row].classes[0]))));
    }
    const reread = await prepareCorpus(loadConfig(null, [...base, `data.id_scheme=${scheme}`, 'data.semantic_leaf_size=5']).config.data, { cacheRoot });
    assert.equal(reread.reused, true);
    assert.deepEqual(reread.codes, corpus.codes);

    const batch = makeBatch(corpus, [{ row: corpus.indexedRows[7], targetIds: [7] }]);
    assert.deepEqual([...batch.targets], encodeCode(codes[7], corpus.idLength));

    // A scorer that always prefers the digits of ID 7's code: beam and greedy both return 7 first.
    const want = codes[7].split('').map(Number);
    const scorer: NextTokenScorer = async (requests) => {
      const out = new Float32Array(requests.length * 13).fill(Math.log(0.01));
      requests.forEach((r, i) => (out[i * 13 + (r.prefix.length < want.length ? want[r.prefix.length] : END)] = Math.log(0.9)));
      return out;
    };
    const trie = IdTrie.fromCodes(codes);
    const [beam] = await beamSearch(1, scorer, trie, { beamWidth: 10, topK: 10, constrained: true, maxDigits: corpus.idLength });
    assert.equal(beam.ids[0], 7);
    assert.equal(beam.ids.length, 10);
    assert.equal((await greedyDecode(1, scorer, trie, corpus.idLength))[0].id, 7);
  }
  assert.equal(PAD, 12);
});
