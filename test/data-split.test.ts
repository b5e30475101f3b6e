import { test } from 'node:test';
import assert from 'node:assert/strict';
import { indexedCount, splitCorpus, type SplitImage, type SplitRules } from '../src/data/split.ts';

const base: SplitRules = { retrievalFraction: 0.5, querySplit: [0.8, 0.1, 0.1], idScheme: 'clustered', seed: 7, multiLabel: false };

function images(spec: string): SplitImage[] {
  return spec.split('').map((c) => ({ primaryClass: c, classes: [c] }));
}

test('first (1 - retrieval_fraction) of each class indexed, clustered IDs in class order, relevance = same class', () => {
  // Rows 0-3 class A, rows 4-7 class B; class order B first (as selection orders them).
  const s = splitCorpus(images('AAAABBBB'), ['B', 'A'], base);
  assert.deepEqual(s.roles.map((r) => (r === 'indexed' ? 'I' : 'q')).join(''), 'IIqqIIqq');
  assert.deepEqual(s.ids, [2, 3, null, null, 0, 1, null, null]);
  assert.deepEqual(s.indexedRows, [4, 5, 0, 1]);
  assert.deepEqual(s.relevantIds[2], [2, 3]);
  assert.deepEqual(s.relevantIds[7], [0, 1]);
  assert.deepEqual(s.relevantIds[0], []);
});

test('indexed count is int(n * (1 - fraction)), without float loss', () => {
  assert.equal(indexedCount(52, 0.75), 13);
  assert.equal(indexedCount(44, 0.75), 11);
  assert.equal(indexedCount(7, 0.75), 1);
  assert.equal(indexedCount(3, 0.75), 0);
  assert.equal(indexedCount(10, 0.9), 1); // 10 * (1 - 0.9) is 0.9999999999999998 in floats
});

test('random IDs: a seeded permutation; relevance follows the images; the query split does not change', () => {
  const imgs = images('A'.repeat(20) + 'B'.repeat(20) + 'C'.repeat(20));
  const clustered = splitCorpus(imgs, ['A', 'B', 'C'], base);
  const random = splitCorpus(imgs, ['A', 'B', 'C'], { ...base, idScheme: 'random' });
  const again = splitCorpus(imgs, ['A', 'B', 'C'], { ...base, idScheme: 'random' });
  assert.deepEqual(random.ids, again.ids);
  assert.notDeepEqual(random.ids, clustered.ids);
  const ids = random.ids.filter((x): x is number => x !== null).sort((a, b) => a - b);
  assert.deepEqual(ids, Array.from({ length: 30 }, (_, i) => i));
  random.indexedRows.forEach((row, id) => assert.equal(random.ids[row], id));
  for (let q = 0; q < imgs.length; q++) {
    if (random.roles[q] === 'indexed') continue;
    const expected = random.indexedRows
      .map((row, id) => [row, id])
      .filter(([row]) => imgs[row].primaryClass === imgs[q].primaryClass)
      .map(([, id]) => id);
    assert.deepEqual(random.relevantIds[q], expected);
    assert.equal(random.relevantIds[q].length, 10);
  }
  assert.deepEqual(random.roles, clustered.roles, 'same test queries whatever the ID scheme');
  const otherSeed = splitCorpus(imgs, ['A', 'B', 'C'], { ...base, seed: 8 });
  assert.notDeepEqual(otherSeed.roles, clustered.roles);
});

test('query split is stratified by class and its totals are round(total x fraction)', () => {
  // 10 classes x 52 images, retrieval 0.75: 13 indexed + 39 queries per class.
  const imgs = images([...'ABCDEFGHIJ'].map((c) => c.repeat(52)).join(''));
  const s = splitCorpus(imgs, [...'ABCDEFGHIJ'], { ...base, retrievalFraction: 0.75 });
  const count = (role: string) => s.roles.filter((r) => r === role).length;
  assert.deepEqual([count('indexed'), count('train'), count('val'), count('test')], [130, 312, 39, 39]);
  for (const c of 'ABCDEFGHIJ') {
    const testOfClass = s.roles.filter((r, i) => r === 'test' && imgs[i].primaryClass === c).length;
    assert.ok(testOfClass >= 3 && testOfClass <= 5, `class ${c} has ${testOfClass} test queries`);
  }
});

test('multi-label relevance: indexed images sharing at least one class with the query', () => {
  const imgs: SplitImage[] = [
    { primaryClass: 'person', classes: ['person', 'dog'] }, // indexed id 0
    { primaryClass: 'person', classes: ['person'] }, // query
    { primaryClass: 'dog', classes: ['dog'] }, // indexed id 1
    { primaryClass: 'dog', classes: ['dog', 'kite'] }, // query
    { primaryClass: 'kite', classes: ['kite', 'person'] }, // indexed id 2
    { primaryClass: 'kite', classes: ['kite'] }, // query
  ];
  const s = splitCorpus(imgs, ['person', 'dog', 'kite'], { ...base, multiLabel: true });
  assert.deepEqual(s.ids, [0, null, 1, null, 2, null]);
  assert.deepEqual(s.relevantIds[1], [0, 2]); // person: image 0 and the kite image that shows a person
  assert.deepEqual(s.relevantIds[3], [0, 1, 2]); // dog or kite
  assert.deepEqual(s.relevantIds[5], [2]);
});
