import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import { prepareCorpus } from '../src/data/corpus.ts';
import { decodeToSquareRgb } from '../src/data/images.ts';
import { imagePixels, queriesOf } from '../src/data/types.ts';
import { UserError } from '../src/runtime/errors.ts';
import { COCO_MINI, tempDir } from './data-fixtures.ts';
import { testData } from './helpers/test-data.ts';

const COCO128 = testData('coco128');

process.env.DSI_NO_PROGRESS = '1';

function cocoConfig(root: string, extra: string[] = []) {
  return loadConfig('coco.yaml', [
    `data.root=${root}`,
    'data.aspect_tolerance=0.4',
    'data.num_images=30',
    'data.min_images_per_class=4',
    'data.image_size=32',
    'model.patch_size=8',
    ...extra,
  ]).config.data;
}

test('COCO from a local folder: multi-label classes by area, relevance by shared category, unannotated files counted', async () => {
  const corpus = await prepareCorpus(cocoConfig(COCO_MINI), { cacheRoot: tempDir('coco-cache') });
  assert.equal(corpus.records.length, 30);
  const unannotated = corpus.skipped.filter((s) => /no entry in instances_val2017\.json/.test(s.reason));
  assert.equal(unannotated.length, 8); // the fixture's photos that instances_val2017.json does not describe

  // Classes of one image, checked by hand against the annotation file.
  const instances = JSON.parse(readFileSync(join(COCO_MINI, 'annotations', 'instances_val2017.json'), 'utf8'));
  const rec = corpus.records[0];
  const image = instances.images.find((i: { file_name: string }) => i.file_name === rec.source);
  const names = new Map(instances.categories.map((c: { id: number; name: string }) => [c.id, c.name]));
  const area = new Map<string, number>();
  for (const a of instances.annotations) if (a.image_id === image.id) area.set(names.get(a.category_id) as string, (area.get(names.get(a.category_id) as string) ?? 0) + a.area);
  assert.deepEqual(rec.classes, [...area.keys()].sort((x, y) => area.get(y)! - area.get(x)!));
  // The first image taken is square: the aspect rule puts square images first.
  assert.equal(image.width, image.height);
  for (const r of corpus.records) assert.ok(r.captions.length >= 5, `${r.source} has ${r.captions.length} captions`);

  const indexed = corpus.records.filter((r) => r.role === 'indexed');
  let crossClass = 0;
  for (const q of queriesOf(corpus)) {
    const expected = indexed.filter((r) => r.classes.some((c) => q.classes.includes(c))).map((r) => r.id!).sort((a, b) => a - b);
    assert.deepEqual(q.relevantIds, expected);
    if (q.relevantIds.some((id) => corpus.records[corpus.indexedRows[id]].classes[0] !== q.classes.find((c) => corpus.classNames.includes(c)))) crossClass++;
  }
  assert.ok(crossClass > 0, 'some query is relevant to an image of another primary class (multi-label)');
});

test('COCO without a captions file: a clear error unless coco_min_captions=0', async () => {
  const root = tempDir('coco-nocaptions');
  mkdirSync(join(root, 'annotations'));
  writeFileSync(join(root, 'annotations', 'instances_val2017.json'), readFileSync(join(COCO_MINI, 'annotations', 'instances_val2017.json')));
  symlinkSync(join(COCO_MINI, 'val2017'), join(root, 'val2017'));
  const cacheRoot = tempDir('coco-nocaptions-cache');
  await assert.rejects(
    prepareCorpus(cocoConfig(root), { cacheRoot }),
    (e: unknown) => e instanceof UserError && /captions_val2017\.json does not exist.*coco_min_captions=0/.test(e.message),
  );
  const corpus = await prepareCorpus(cocoConfig(root, ['data.coco_min_captions=0']), { cacheRoot });
  assert.equal(corpus.records.length, 30);
  assert.ok(corpus.records.every((r) => r.captions.length === 0), 'corpus.records.every((r) => r.captions.length === 0)');
});

test('COCO without captions (real coco128): a clear error unless coco_min_captions=0', { skip: COCO128.skip }, async () => {
  const cacheRoot = tempDir('coco128-cache');
  await assert.rejects(
    prepareCorpus(cocoConfig(COCO128.path, ['data.coco_split=train2017']), { cacheRoot }),
    (e: unknown) => e instanceof UserError && /captions_train2017\.json does not exist.*coco_min_captions=0/.test(e.message),
  );
  const corpus = await prepareCorpus(cocoConfig(COCO128.path, ['data.coco_split=train2017', 'data.coco_min_captions=0']), { cacheRoot });
  assert.equal(corpus.records.length, 30);
  assert.ok(corpus.records.every((r) => r.captions.length === 0), 'corpus.records.every((r) => r.captions.length === 0)');
  assert.deepEqual(
    corpus.skipped.filter((s) => s.reason === 'no object annotations').map((s) => s.source),
    ['000000000250.jpg', '000000000508.jpg'],
  );
});

/** Serves real COCO JPEGs from coco-mini/val2017, counting requests; one file answers 404. */
async function startImageServer(missing: string): Promise<{ server: Server; base: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    const name = (req.url ?? '').split('/').pop()!;
    hits.push(name);
    const file = join(COCO_MINI, 'val2017', name);
    if (name === missing || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

test('COCO images missing on disk are downloaded once by coco_url into the cache; a 404 is skipped', async () => {
  const instances = JSON.parse(readFileSync(join(COCO_MINI, 'annotations', 'instances_val2017.json'), 'utf8'));
  const usable = instances.images.filter((i: { width: number; height: number }) => Math.abs(i.width / i.height - 1) <= 0.4).slice(0, 9);
  const missing = usable[2].file_name;
  const { server, base, hits } = await startImageServer(missing);
  try {
    const root = tempDir('coco-url');
    mkdirSync(join(root, 'annotations'));
    const ids = new Set(usable.map((i: { id: number }) => i.id));
    instances.images = usable.map((i: { file_name: string }) => ({ ...i, coco_url: `${base}/val2017/${i.file_name}` }));
    instances.annotations = instances.annotations.filter((a: { image_id: number }) => ids.has(a.image_id));
    writeFileSync(join(root, 'annotations', 'instances_val2017.json'), JSON.stringify(instances));
    writeFileSync(join(root, 'annotations', 'captions_val2017.json'), readFileSync(join(COCO_MINI, 'annotations', 'captions_val2017.json')));

    const cacheRoot = tempDir('coco-url-cache');
    const config = cocoConfig(root, ['data.num_images=5', 'data.min_images_per_class=1']);
    const corpus = await prepareCorpus(config, { cacheRoot });
    assert.equal(corpus.records.length, 5);
    assert.deepEqual(corpus.skipped.map((s) => s.source), [missing]);
    assert.match(corpus.skipped[0].reason, /HTTP 404/);
    for (const r of corpus.records) {
      const local = join(cacheRoot, 'coco-images', 'val2017', r.source);
      assert.ok(existsSync(local), `${r.source} was downloaded into the cache`);
      const original = readFileSync(join(COCO_MINI, 'val2017', r.source));
      assert.deepEqual(readFileSync(local), original);
      assert.deepEqual(imagePixels(corpus, r.row), await decodeToSquareRgb(original, { size: 32, aspectTolerance: 0.4 }));
    }
    const requests = hits.length;
    await prepareCorpus(config, { cacheRoot, force: true });
    assert.deepEqual(hits.slice(requests), [missing], 'only the failed file is asked for again');
  } finally {
    server.close();
  }
});

test('an unreachable image host stops the build with a clear error instead of skipping every image', async () => {
  const { server, base } = await startImageServer('');
  await new Promise((resolve) => server.close(resolve)); // nothing listens on that port any more
  const instances = JSON.parse(readFileSync(join(COCO_MINI, 'annotations', 'instances_val2017.json'), 'utf8'));
  instances.images = instances.images.map((i: { file_name: string }) => ({ ...i, coco_url: `${base}/val2017/${i.file_name}` }));
  const root = tempDir('coco-offline');
  mkdirSync(join(root, 'annotations'));
  writeFileSync(join(root, 'annotations', 'instances_val2017.json'), JSON.stringify(instances));
  writeFileSync(join(root, 'annotations', 'captions_val2017.json'), readFileSync(join(COCO_MINI, 'annotations', 'captions_val2017.json')));
  await assert.rejects(
    prepareCorpus(cocoConfig(root, ['data.num_images=4', 'data.min_images_per_class=1']), { cacheRoot: tempDir('coco-offline-cache') }),
    (e: unknown) => e instanceof UserError && /cannot reach http:\/\/127\.0\.0\.1/.test(e.message),
  );
});
