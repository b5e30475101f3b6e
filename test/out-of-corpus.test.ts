import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeToSquareRgb } from '../src/data/images.ts';
import type { Corpus } from '../src/data/types.ts';
import { folderQueries } from '../src/eval/queries.ts';
import { IMAGENETTE, IMAGE_SIZE, tempDir, tinyCorpus } from './train-fixtures.ts';

/** tinyCorpus with its pixels decoded by the corpus pipeline (as a folder corpus caches them). */
async function pipelineCorpus(): Promise<Corpus> {
  const corpus = await tinyCorpus(2, 'ooc0000000000001');
  const per = IMAGE_SIZE * IMAGE_SIZE * 3;
  for (const r of corpus.records) corpus.pixels.set(await decodeToSquareRgb(readFileSync(r.source), { size: IMAGE_SIZE }), r.row * per);
  return corpus;
}

test('--queries on the folder the corpus came from: only out-of-corpus images, a seeded sample per class', async () => {
  const corpus = await pipelineCorpus();
  const inCorpus = new Set(corpus.records.map((r) => resolve(r.source)));
  const { set, unknownClasses } = await folderQueries(IMAGENETTE, corpus, { perClass: 4, seed: 1 });
  assert.equal(set.count, 8, '4 per class of the 2 corpus classes');
  assert.ok(set.keys.every((k) => !inCorpus.has(resolve(k))), 'no corpus image is a query');
  assert.equal(unknownClasses.length, readdirSync(IMAGENETTE, { withFileTypes: true }).filter((e) => e.isDirectory()).length - 2);
  for (const [i, key] of set.keys.entries()) {
    const cls = corpus.classNames.find((c) => key.includes(`/${c}/`))!;
    assert.deepEqual(set.relevant[i], corpus.indexedRows.map((row, id) => [row, id]).filter(([row]) => corpus.records[row].classes[0] === cls).map(([, id]) => id));
  }
  const again = await folderQueries(IMAGENETTE, corpus, { perClass: 4, seed: 1 });
  assert.deepEqual(again.set.keys, set.keys, 'the same seed draws the same sample');
  const other = await folderQueries(IMAGENETTE, corpus, { perClass: 4, seed: 2 });
  assert.notDeepEqual(other.set.keys, set.keys, 'another seed draws another sample');
  await assert.rejects(folderQueries(IMAGENETTE, corpus, { perClass: 0 }), /--queries-per-class 0/);
});

test('--queries: copies of corpus images elsewhere are recognised by their pixels and left out', async () => {
  const corpus = await pipelineCorpus();
  const dirs = tempDir('ooc');
  try {
    const cls = corpus.classNames[0];
    mkdirSync(join(dirs.path, cls));
    // The corpus took the first 6 photos of the class (3 indexed, 3 queries); copy 8.
    const names = readdirSync(join(IMAGENETTE, cls)).sort().slice(0, 8);
    for (const n of names) copyFileSync(join(IMAGENETTE, cls, n), join(dirs.path, cls, `copy-${n}`));
    const { set } = await folderQueries(dirs.path, corpus);
    assert.equal(set.inCorpus, 6);
    assert.equal(set.count, 2);
    assert.deepEqual(set.keys.map((k) => k.split('/').pop()), names.slice(6).map((n) => `copy-${n}`));
    // Nothing left once the outside photos are gone: say so instead of scoring zero queries.
    for (const n of names.slice(6)) rmSync(join(dirs.path, cls, `copy-${n}`));
    await assert.rejects(folderQueries(dirs.path, corpus), /all 6 images of the corpus's classes there are in the corpus/);
  } finally {
    dirs.cleanup();
  }
});
