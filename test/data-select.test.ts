import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../src/runtime/errors.ts';
import { orderByAspect, planSelection, type Candidate } from '../src/data/select.ts';

interface Item extends Candidate {
  name: string;
}

/** `A3` -> three items of class A named A0..A2. */
function singleLabel(spec: Record<string, number>): Item[] {
  return Object.entries(spec).flatMap(([c, n]) => Array.from({ length: n }, (_, i) => ({ name: `${c}${i}`, classes: [c] })));
}

const rules = { aspectTolerance: 0.1, aspectSelection: false, multiLabel: false };

test('single label: small classes dropped, largest first, ceil(N/min) classes, min images each until exactly N', () => {
  const items = singleLabel({ A: 5, B: 7, C: 3, D: 6, E: 6 });
  const plan = planSelection(items, { ...rules, numImages: 10, minImagesPerClass: 4 });
  // ceil(10/4) = 3 classes among those with >= 4 images: B (7), then D and E tie (6) in listing order.
  assert.deepEqual(plan.classNames, ['B', 'D', 'E']);
  assert.deepEqual(plan.groups.map((g) => g.quota), [4, 4, 2]);
  assert.deepEqual(plan.groups[0].candidates.map((c) => c.name), ['B0', 'B1', 'B2', 'B3', 'B4', 'B5', 'B6']);
  assert.equal(plan.classSizes.C, 3);
});

test('the reference corpus: 512 images, 52 per class from 10 classes, the last class gets 44', () => {
  const items = singleLabel(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`c${i}`, 900 + i])));
  const plan = planSelection(items, { ...rules, numImages: 512, minImagesPerClass: 52 });
  assert.equal(plan.classNames.length, 10);
  assert.equal(plan.classNames[0], 'c9');
  assert.deepEqual(plan.groups.map((g) => g.quota), [52, 52, 52, 52, 52, 52, 52, 52, 52, 44]);
});

test('multi label: a class counts every image showing it; the first N images with a kept class are taken', () => {
  const items: Item[] = [
    { name: 'i0', classes: ['dog', 'person'] },
    { name: 'i1', classes: ['cat'] },
    { name: 'i2', classes: ['person'] },
    { name: 'i3', classes: ['kite', 'dog'] },
    { name: 'i4', classes: ['cat', 'person'] },
    { name: 'i5', classes: ['kite'] },
  ];
  const plan = planSelection(items, { ...rules, multiLabel: true, numImages: 4, minImagesPerClass: 2 });
  // person 3, dog 2, cat 2, kite 2: ceil(4/2) = 2 classes -> person, dog.
  assert.deepEqual(plan.classNames, ['person', 'dog']);
  assert.equal(plan.groups.length, 1);
  assert.equal(plan.groups[0].quota, 4);
  assert.deepEqual(plan.groups[0].candidates.map((c) => c.name), ['i0', 'i2', 'i3', 'i4']);
});

test('aspect rule: square images first, then those within the tolerance, the rest dropped', () => {
  const items: Item[] = [
    { name: 'wide', classes: ['a'], width: 640, height: 480 },
    { name: 'near', classes: ['a'], width: 105, height: 100 },
    { name: 'square', classes: ['a'], width: 300, height: 300 },
    { name: 'unknown', classes: ['a'] },
    { name: 'tall', classes: ['a'], width: 100, height: 109 },
  ];
  const { ordered, dropped } = orderByAspect(items, 0.1);
  assert.deepEqual(ordered.map((i) => i.name), ['square', 'near', 'tall', 'unknown']);
  assert.equal(dropped, 1);
  const plan = planSelection(items, { ...rules, aspectSelection: true, numImages: 3, minImagesPerClass: 3 });
  assert.equal(plan.droppedByAspect, 1);
  assert.deepEqual(plan.groups[0].candidates.map((c) => c.name), ['square', 'near', 'tall', 'unknown']);
  // A wider tolerance keeps the 4:3 photo, after the square and near-square ones.
  assert.deepEqual(orderByAspect(items, 0.4).ordered.map((i) => i.name), ['square', 'wide', 'near', 'tall', 'unknown']);
});

test('no class large enough is a UserError that names the key and the largest class', () => {
  assert.throws(
    () => planSelection(singleLabel({ A: 3, B: 2 }), { ...rules, numImages: 10, minImagesPerClass: 4 }),
    (err: unknown) => err instanceof UserError && /min_images_per_class=4 .*"A" with 3/.test(err.message),
  );
});

test('a short corpus says why and which setting fixes it', async () => {
  const { shortfallWarning } = await import('../src/data/corpus.ts');
  const { loadConfig } = await import('../src/config/load.ts');
  const data = loadConfig('imagenette.yaml', ['data.num_images=2048']).config.data;
  const corpus = (images: number, classes: number) =>
    ({ records: new Array(images), requestedImages: 2048, classNames: new Array(classes), skipped: [] }) as never;
  // 2048 / 52 asks for 40 classes; Imagenette has 10, so 520 images: raise min_images_per_class.
  assert.match(shortfallWarning(corpus(520, 10), data)!, /ceil\(2048 \/ data\.min_images_per_class=52\) = 40 classes.*only 10 classes.*--set data\.min_images_per_class=205/);
  assert.match(shortfallWarning(corpus(2000, 40), data)!, /ran out of readable images/);
  assert.equal(shortfallWarning(corpus(2048, 40), data), null);
});
