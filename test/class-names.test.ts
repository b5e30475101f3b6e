import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataSection } from '../src/config/sections/data.ts';
import { bundledWordnetNames, displayNamesFor } from '../src/data/class-names/display-names.ts';
import { prepareCorpus } from '../src/data/corpus.ts';
import { loadCorpusByHash } from '../src/data/cache.ts';
import { displayNameOf } from '../src/data/types.ts';
import { SAMPLE_PHOTOS } from './helpers/test-data.ts';

process.env.DSI_NO_PROGRESS = '1';

test('WordNet IDs get their first lemma; other names stay as they are', () => {
  assert.deepEqual(displayNamesFor(['n01443537', 'n04067472', 'n02124075', 'n01440764', 'cat', 'n99999999']), [
    'goldfish',
    'reel',
    'Egyptian cat',
    'tench',
    'cat',
    'n99999999',
  ]);
  // A dataset's own words.txt wins over the bundled table.
  assert.deepEqual(displayNamesFor(['n01443537'], { n01443537: 'Goldfisch, Karausche' }), ['Goldfisch']);
  // The bundled table: Tiny ImageNet's 200 classes and Imagenette's 10.
  assert.equal(Object.keys(bundledWordnetNames()).filter((k) => /^n\d{8}$/.test(k)).length, 210);
});

test('a folder corpus of WordNet-ID folders carries display names, from its words.txt or the bundled table', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dsi-names-'));
  try {
    const root = join(dir, 'train');
    for (const wnid of ['n01440764', 'n02102040']) await cp(join(SAMPLE_PHOTOS, wnid), join(root, wnid), { recursive: true });
    const data = dataSection.parse({ source: 'folder', root, num_images: 16, min_images_per_class: 8, image_size: 16 });
    const corpus = await prepareCorpus(data, { cacheRoot: join(dir, 'cache') });
    assert.deepEqual(corpus.classNames, ['n01440764', 'n02102040']); // the classes themselves do not change
    assert.deepEqual(corpus.displayNames, ['tench', 'English springer']);
    assert.equal(displayNameOf(corpus, 'n02102040'), 'English springer');
    assert.deepEqual((await loadCorpusByHash(corpus.hash, join(dir, 'cache'))).displayNames, ['tench', 'English springer']);

    // words.txt beside the image root (Tiny ImageNet's layout) is read first.
    await writeFile(join(dir, 'words.txt'), 'n01440764\ttinca, Tinca tinca\nn02102040\tspringer spaniel\n');
    const own = await prepareCorpus(data, { cacheRoot: join(dir, 'cache2') });
    assert.deepEqual(own.displayNames, ['tinca', 'springer spaniel']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
