import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadConfig, PROJECT_ROOT } from '../src/config/load.ts';
import { loadCorpusByHash, prepareCorpus, summarizeCorpus } from '../src/data/corpus.ts';
import { decodeToSquareRgb } from '../src/data/images.ts';
import { imagePixels, queriesOf } from '../src/data/types.ts';
import { UserError } from '../src/runtime/errors.ts';
import { copyImageFolder, imagenettePhoto, tempDir } from './data-fixtures.ts';

process.env.DSI_NO_PROGRESS = '1';

function dataConfig(root: string, extra: string[] = []) {
  return loadConfig(null, [
    'data.source=folder',
    `data.root=${root}`,
    'data.num_images=12',
    'data.min_images_per_class=4',
    'data.image_size=32',
    'data.retrieval_fraction=0.5',
    ...extra,
  ]).config.data;
}

/** Three usable classes, one too small, and broken files that sort first in the largest class. */
async function makeFolder(): Promise<string> {
  const root = tempDir('folder');
  await copyImageFolder(root, { n01440764: 6, n02102040: 6, n02979186: 5, n03000684: 3 });
  const photo = await imagenettePhoto('n01440764', 10);
  const cls = join(root, 'n01440764');
  writeFileSync(join(cls, '000-truncated.JPEG'), photo.subarray(0, photo.length >> 1));
  writeFileSync(join(cls, '001-empty.jpg'), '');
  writeFileSync(join(cls, '002-tiny.png'), await sharp(photo).resize(6, 6).png().toBuffer());
  writeFileSync(join(cls, '003-grey.jpg'), await sharp(photo).greyscale().jpeg().toBuffer());
  writeFileSync(join(cls, '004-cmyk.jpg'), await sharp(photo).toColourspace('cmyk').jpeg().toBuffer());
  writeFileSync(join(cls, 'notes.txt'), 'not an image');
  return root;
}

test('folder corpus: selection, broken files skipped and replaced, split, IDs, cache reuse and invalidation', async () => {
  const root = await makeFolder();
  const cacheRoot = tempDir('cache');
  const corpus = await prepareCorpus(dataConfig(root), { cacheRoot });
  assert.equal(corpus.reused, false);
  // n03000684 (3 images) is dropped; n01440764 (11 candidates) is largest and comes first.
  assert.deepEqual(corpus.classNames, ['n01440764', 'n02102040', 'n02979186']);
  assert.deepEqual(
    corpus.skipped.map((s) => [s.source.split('/').pop(), s.reason.split(' ')[0]]),
    [['000-truncated.JPEG', 'cannot'], ['001-empty.jpg', 'empty'], ['002-tiny.png', 'too']],
  );
  const first = corpus.records.filter((r) => r.classes[0] === 'n01440764').map((r) => r.source.split('/').pop());
  assert.deepEqual(first.slice(0, 2), ['003-grey.jpg', '004-cmyk.jpg']);
  assert.deepEqual(summarizeCorpus(corpus), {
    images: 12,
    classes: 3,
    indexed: 6,
    queries: { train: 4, val: 1, test: 1 },
    queriesWithoutRelevant: 0,
    meanRelevantPerQuery: 2,
    idLength: 1,
    skipped: 3,
  });
  // Clustered IDs: 0,1 for the first class, 2,3 for the second...; queries relevant to their class.
  for (const q of queriesOf(corpus)) {
    const same = corpus.records.filter((r) => r.role === 'indexed' && r.classes[0] === q.classes[0]).map((r) => r.id);
    assert.deepEqual(q.relevantIds, same);
  }
  assert.deepEqual(corpus.indexedRows.map((row) => corpus.records[row].id), [0, 1, 2, 3, 4, 5]);
  const row = corpus.records[5];
  assert.deepEqual(imagePixels(corpus, row.row), await decodeToSquareRgb(readFileSync(row.source), { size: 32 }));

  const manifest = JSON.parse(readFileSync(join(corpus.cachePath, 'manifest.json'), 'utf8'));
  assert.equal(manifest.hash, corpus.hash);
  assert.equal(manifest.skipped.length, 3);
  assert.equal(readFileSync(join(corpus.cachePath, 'images.bin')).length, 12 * 32 * 32 * 3);

  const again = await prepareCorpus(dataConfig(root), { cacheRoot });
  assert.equal(again.reused, true);
  assert.equal(again.hash, corpus.hash);
  assert.deepEqual(again.pixels, corpus.pixels);
  assert.deepEqual(again.records, corpus.records);
  assert.deepEqual((await loadCorpusByHash(corpus.hash, cacheRoot)).records, corpus.records);

  const random = await prepareCorpus(dataConfig(root, ['data.id_scheme=random']), { cacheRoot });
  assert.notEqual(random.hash, corpus.hash);
  assert.deepEqual(random.records.map((r) => r.role), corpus.records.map((r) => r.role));

  writeFileSync(join(root, 'n02102040', 'zzz-new.jpg'), await sharp(await imagenettePhoto('n02102040', 20)).jpeg().toBuffer());
  const changed = await prepareCorpus(dataConfig(root), { cacheRoot });
  assert.equal(changed.reused, false, 'a new photo in the folder changes the cache key');
  assert.notEqual(changed.hash, corpus.hash);

  const forced = await prepareCorpus(dataConfig(root), { cacheRoot, force: true });
  assert.equal(forced.reused, false);
  assert.equal(forced.hash, changed.hash);
});

test('an incomplete cache is rebuilt, and temp folders of dead builds are removed', async () => {
  const root = await makeFolder();
  const cacheRoot = tempDir('cache');
  const built = await prepareCorpus(dataConfig(root), { cacheRoot });
  truncateSync(join(built.cachePath, 'images.bin'), 100);
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
  mkdirSync(join(cacheRoot, `.tmp-${built.hash}-${deadPid}-1`));
  const rebuilt = await prepareCorpus(dataConfig(root), { cacheRoot });
  assert.equal(rebuilt.reused, false);
  assert.equal(readFileSync(join(rebuilt.cachePath, 'images.bin')).length, 12 * 32 * 32 * 3);
  assert.deepEqual(readdirSync(cacheRoot), [built.hash]);
  await assert.rejects(loadCorpusByHash('0123456789abcdef', cacheRoot), (e: unknown) => e instanceof UserError && /not in the cache/.test(e.message));
});

test('a missing root is a UserError naming it; a relative root is also found under the project', async () => {
  const cacheRoot = tempDir('cache');
  await assert.rejects(
    prepareCorpus(dataConfig('no/such/folder'), { cacheRoot }),
    (e: unknown) => e instanceof UserError && /data\.root=no\/such\/folder is not a folder/.test(e.message),
  );
  const cwd = process.cwd();
  process.chdir(tempDir('elsewhere'));
  try {
    const quick = loadConfig('quickstart.yaml').config.data;
    assert.equal(quick.root, 'data/samples');
    const corpus = await prepareCorpus(quick, { cacheRoot });
    assert.equal(corpus.records.length, 400);
    assert.equal(corpus.classNames.length, 10);
    assert.equal(corpus.indexedRows.length, 100);
    assert.equal(corpus.skipped.length, 0);
    assert.ok(corpus.records[0].source.startsWith(join(PROJECT_ROOT, 'data', 'samples')), 'corpus.records[0].source.startsWith(join(PROJECT_ROOT, \'data\', \'samples\'))');
  } finally {
    process.chdir(cwd);
  }
});

test('dsi data prints the summary as JSON and reports a bad root with exit status 2', () => {
  const env = { ...process.env, DSI_CACHE_DIR: tempDir('cli-cache'), DSI_NO_PROGRESS: '1' };
  const bin = join(PROJECT_ROOT, 'bin', 'dsi.js');
  const ok = spawnSync(process.execPath, [bin, 'data', '--config', 'quickstart.yaml', '--json'], { env, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  const summary = JSON.parse(ok.stdout);
  assert.equal(summary.images, 400);
  assert.equal(summary.indexed, 100);
  assert.deepEqual(summary.queries, { train: 240, val: 30, test: 30 });
  assert.ok(existsSync(join(summary.cache_path, 'images.bin')), 'existsSync(join(summary.cache_path, \'images.bin\'))');
  const bad = spawnSync(process.execPath, [bin, 'data', '--config', 'quickstart.yaml', '--set', 'data.root=/no/such/dir'], { env, encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /data\.root=\/no\/such\/dir is not a folder/);
});

test('the cache is verified: zeroed bytes in images.bin are detected and rebuilt (prepareCorpus) or refused (by hash)', async () => {
  const root = await makeFolder();
  const cacheRoot = tempDir('cache');
  const built = await prepareCorpus(dataConfig(root), { cacheRoot });
  const manifest = JSON.parse(readFileSync(join(built.cachePath, 'manifest.json'), 'utf8'));
  assert.match(manifest.pixelsSha256, /^[0-9a-f]{64}$/);
  const bin = join(built.cachePath, 'images.bin');
  const bytes = readFileSync(bin);
  bytes.fill(0, 0, 4096); // same size, zeroed start: the old size check passes
  writeFileSync(bin, bytes);
  await assert.rejects(loadCorpusByHash(built.hash, cacheRoot), (e: unknown) => e instanceof UserError && /damaged \(images\.bin does not match the sha256/.test(e.message));
  const notes: string[] = [];
  const rebuilt = await prepareCorpus(dataConfig(root), { cacheRoot, log: (l) => notes.push(l) });
  assert.equal(rebuilt.reused, false);
  assert.ok(notes.some((n) => /damaged.*rebuilding it/.test(n)), notes.join('\n'));
  assert.deepEqual(rebuilt.pixels, built.pixels);
  assert.equal((await prepareCorpus(dataConfig(root), { cacheRoot })).reused, true);
});

test('the cache key follows content: swapping two same-size photos between classes rebuilds', async () => {
  const root = tempDir('swap');
  const cacheRoot = tempDir('cache');
  await copyImageFolder(root, { n01440764: 6, n02102040: 6 });
  // Two different photos padded to one size (JPEG decoders ignore bytes after the end marker).
  const a = join(root, 'n01440764', readdirSync(join(root, 'n01440764')).sort()[0]);
  const b = join(root, 'n02102040', readdirSync(join(root, 'n02102040')).sort()[0]);
  const [ba, bb] = [readFileSync(a), readFileSync(b)];
  const size = Math.max(ba.length, bb.length);
  const pad = (x: Buffer) => Buffer.concat([x, Buffer.alloc(size - x.length)]);
  writeFileSync(a, pad(ba));
  writeFileSync(b, pad(bb));
  const config = dataConfig(root, ['data.num_images=12', 'data.min_images_per_class=6']);
  const before = await prepareCorpus(config, { cacheRoot });
  writeFileSync(a, pad(bb));
  writeFileSync(b, pad(ba));
  const after = await prepareCorpus(config, { cacheRoot });
  assert.notEqual(after.hash, before.hash);
  assert.equal(after.reused, false);
});

test('a folder corpus follows symlinked photos and class folders, and skips a link loop and a broken link with a reason', async () => {
  const base = tempDir('links');
  const root = join(base, 'root');
  const elsewhere = join(base, 'elsewhere');
  await copyImageFolder(elsewhere, { n01440764: 6, n02102040: 6 });
  mkdirSync(join(root, 'n01440764'), { recursive: true });
  for (const f of readdirSync(join(elsewhere, 'n01440764'))) symlinkSync(join(elsewhere, 'n01440764', f), join(root, 'n01440764', f));
  symlinkSync(join(elsewhere, 'n02102040'), join(root, 'n02102040'));
  symlinkSync(root, join(root, 'loop'));
  symlinkSync(join(base, 'nowhere.jpg'), join(root, 'n01440764', 'zz-dangling.jpg'));
  const corpus = await prepareCorpus(dataConfig(root, ['data.num_images=12', 'data.min_images_per_class=6']), { cacheRoot: tempDir('cache') });
  assert.equal(corpus.records.length, 12);
  assert.deepEqual([...corpus.classNames].sort(), ['n01440764', 'n02102040']);
  assert.ok(corpus.skipped.some((s) => s.source.endsWith('loop') && /symbolic link loop/.test(s.reason)), JSON.stringify(corpus.skipped));
  assert.ok(corpus.skipped.some((s) => s.source.endsWith('zz-dangling.jpg') && /broken symbolic link/.test(s.reason)), 'corpus.skipped.some((s) => s.source.endsWith(\'zz-dangling.jpg\') && /broken symbolic link/.test(s.reason))');
});
