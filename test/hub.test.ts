import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { dataSection, type DataConfig } from '../src/config/sections/data.ts';
import { openHubSource } from '../src/data/sources/hub.ts';
import { UserError } from '../src/runtime/errors.ts';
import { buildImageShard, fakeSha, startFakeHub, type FakeHub, type LabelledImage } from './helpers/fake-hub-server.ts';
import { SAMPLE_PHOTOS } from './helpers/test-data.ts';

process.env.DSI_NO_PROGRESS = '1';
process.env.DSI_CONNECT_TIMEOUT_MS = '2000';

// Real photos: 4 per class from three Imagenette classes, with the names frgfm/imagenette uses.
const IMAGENETTE = SAMPLE_PHOTOS;
const CLASSES = [
  { wnid: 'n01440764', name: 'tench' },
  { wnid: 'n02102040', name: 'English springer' },
  { wnid: 'n02979186', name: 'cassette player' },
];
const TOKEN = 'hf_fakeTokenForTests0123456789';

let images: LabelledImage[];
let hub: FakeHub;
let cacheDir: string;
const shardBytes: Record<string, Uint8Array> = {};

function hubData(overrides: Partial<DataConfig>): DataConfig {
  return dataSection.parse({ source: 'hub', ...overrides });
}

before(async () => {
  images = [];
  for (const [label, c] of CLASSES.entries()) {
    const names = (await readdir(join(IMAGENETTE, c.wnid))).sort().slice(0, 4);
    for (const name of names) images.push({ bytes: await readFile(join(IMAGENETTE, c.wnid, name)), name, label });
  }
  // Interleave classes like a shuffled Hub split, and give the converted split two shards with
  // small row groups so reads cross shard and row-group boundaries.
  const order = [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11].map((i) => images[i]);
  images = order;
  const names = CLASSES.map((c) => c.name);
  shardBytes.conv0 = await buildImageShard(images.slice(0, 8), names, { rowGroupSize: 3 });
  shardBytes.conv1 = await buildImageShard(images.slice(8), names, { rowGroupSize: 3 });
  shardBytes.val = await buildImageShard(images.slice(0, 2), names);
  // The dataset's own parquet, without "huggingface" metadata: names must come from the card.
  shardBytes.own = await buildImageShard([...images.slice(0, 5), { ...images[5], label: null }], names, { withFeatures: false });
  const cardWithLabels = {
    dataset_info: {
      features: [
        { name: 'image', dtype: 'image' },
        { name: 'label', dtype: { class_label: { names: { '0': 'tench', '1': 'English springer', '2': 'cassette player' } } } },
      ],
    },
  };

  hub = await startFakeHub({
    // Script-based like the real frgfm/imagenette: no parquet on main, so the Hub's conversion is used.
    'frgfm/imagenette': {
      revisions: {
        main: { sha: fakeSha('imagenette-main'), files: { 'imagenette.py': new TextEncoder().encode('# loader script'), 'README.md': new Uint8Array(10) } },
        'refs/convert/parquet': {
          sha: fakeSha('imagenette-parquet'),
          files: {
            '160px/train/0000.parquet': shardBytes.conv0,
            '160px/train/0001.parquet': shardBytes.conv1,
            '160px/validation/0000.parquet': shardBytes.val,
          },
        },
      },
    },
    'someone/own-parquet': {
      revisions: {
        main: { sha: fakeSha('own-main'), cardData: cardWithLabels, files: { 'data/train-00000-of-00001.parquet': shardBytes.own, 'README.md': new Uint8Array(5) } },
      },
    },
    'ILSVRC/imagenet-1k': {
      gatedTokens: [TOKEN],
      revisions: {
        main: { sha: fakeSha('gated-main'), cardData: cardWithLabels, files: { 'data/train-00000-of-00001.parquet': shardBytes.conv1 } },
      },
    },
  });
});

after(async () => {
  await hub.close();
});

beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'dsi-hub-'));
  process.env.HF_ENDPOINT = hub.url;
  delete process.env.HF_TOKEN;
  hub.requests.length = 0;
});

test('parquet-conversion fallback: items in row order, class names from metadata, the exact image bytes', async () => {
  const source = await openHubSource(hubData({ dataset: 'frgfm/imagenette', hub_config: '160px', hub_split: 'train' }), { cacheDir });
  const sha = fakeSha('imagenette-parquet');
  assert.equal(source.identity, `hub:frgfm/imagenette@${sha}/160px/train`);
  assert.equal(source.items.length, 12);
  assert.deepEqual(source.skipped, []);
  assert.deepEqual(
    source.items.map((it) => it.source),
    images.map((_, i) => `hub:frgfm/imagenette@${sha}/160px/train#${i}`),
  );
  assert.deepEqual(source.items.map((it) => it.classes), images.map((im) => [CLASSES[im.label!].name]));
  // Read out of order and across shards/row groups: each cell must be the very JPEG we stored.
  for (const i of [11, 0, 7, 8, 3]) assert.deepEqual(Buffer.from(await source.items[i].read()), Buffer.from(images[i].bytes));
  const meta = await sharp(await source.items[9].read()).metadata();
  assert.equal(meta.format, 'jpeg');
  assert.deepEqual([meta.width, meta.height], [64, 64]); // the sample photos' size: decodable, not just bytes
  // Only the train split was downloaded, into a folder keyed by the commit sha.
  assert.equal(hub.downloads().length, 2);
  const shardDir = join(cacheDir, 'hub', 'datasets--frgfm--imagenette', sha, '160px', 'train');
  assert.deepEqual((await readdir(shardDir)).sort(), ['0000.parquet', '0001.parquet']);
});

test('a second open reuses the cache: no new downloads', async () => {
  const data = hubData({ dataset: 'frgfm/imagenette', hub_config: '160px', hub_split: 'validation' });
  const first = await openHubSource(data, { cacheDir });
  const downloads = hub.downloads().length;
  assert.equal(downloads, 1);
  const second = await openHubSource(data, { cacheDir });
  assert.equal(hub.downloads().length, downloads);
  assert.equal(second.identity, first.identity);
  assert.deepEqual(await second.items[1].read(), await first.items[1].read());
});

test('an interrupted download resumes: a leftover .part is continued with a Range request', async () => {
  const sha = fakeSha('imagenette-parquet');
  const dest = join(cacheDir, 'hub', 'datasets--frgfm--imagenette', sha, '160px', 'train', '0000.parquet');
  await mkdir(join(dest, '..'), { recursive: true });
  const half = Math.floor(shardBytes.conv0.length / 2);
  await writeFile(`${dest}.part`, shardBytes.conv0.subarray(0, half));
  // And the other shard's transfer breaks half way: resumed within the same call.
  hub.breakNextTransfers(1);
  const source = await openHubSource(hubData({ dataset: 'frgfm/imagenette', hub_config: '160px' }), { cacheDir });
  const ranges = hub.downloads().map((r) => r.range);
  assert.equal(ranges[0], `bytes=${half}-`);
  assert.ok(ranges.slice(1).some((r) => r && /^bytes=\d+-$/.test(r)), `ranges seen: ${ranges.join(', ')}`);
  assert.deepEqual(await readFile(dest), Buffer.from(shardBytes.conv0));
  assert.deepEqual(Buffer.from(await source.items[10].read()), Buffer.from(images[10].bytes));
});

test("the dataset's own parquet is used when it has one; names come from the card; unlabelled rows are skipped", async () => {
  const source = await openHubSource(hubData({ dataset: 'someone/own-parquet', hub_config: null }), { cacheDir });
  assert.equal(source.identity, `hub:someone/own-parquet@${fakeSha('own-main')}/default/train`);
  assert.equal(source.items.length, 5);
  assert.deepEqual(source.skipped.map((s) => s.source), [`${source.identity}#5`]);
  assert.deepEqual(source.items.map((it) => it.classes[0]), images.slice(0, 5).map((im) => CLASSES[im.label!].name));
  assert.ok(!hub.requests.some((r) => r.url.includes('convert')), 'must not touch the parquet conversion');
});

test('a gated dataset without HF_TOKEN says to set it and accept the terms; a wrong token is refused', async () => {
  const data = hubData({ dataset: 'ILSVRC/imagenet-1k', hub_config: null });
  await assert.rejects(openHubSource(data, { cacheDir }), (e: unknown) => {
    assert.ok(e instanceof UserError, 'e instanceof UserError');
    assert.match(e.message, /ILSVRC\/imagenet-1k is gated.*HTTP 401.*set HF_TOKEN.*accept the dataset's terms/);
    assert.match(e.message, /data\.source=folder/);
    return true;
  });
  process.env.HF_TOKEN = 'hf_notTheRightOne';
  await assert.rejects(openHubSource(data, { cacheDir }), (e: unknown) => {
    assert.match((e as Error).message, /HTTP 403.*HF_TOKEN is set but was refused/);
    assert.doesNotMatch((e as Error).message, /hf_notTheRightOne/);
    return true;
  });
});

test('with HF_TOKEN the token goes as a Bearer header to the Hub only, and is written nowhere', async () => {
  process.env.HF_TOKEN = TOKEN;
  const source = await openHubSource(hubData({ dataset: 'ILSVRC/imagenet-1k', hub_config: null }), { cacheDir });
  assert.equal(source.items.length, 4);
  assert.equal(source.aspectSelection, true); // full ImageNet: square-first selection
  const hubCalls = hub.requests.filter((r) => r.server === 'hub');
  assert.ok(hubCalls.length >= 3 && hubCalls.every((r) => r.authorization === `Bearer ${TOKEN}`), 'hubCalls.length >= 3 && hubCalls.every((r) => r.authorization === `Bearer ${TOKEN}`)');
  // The signed CDN URL lives on another origin: the token must not follow the redirect there.
  assert.ok(hub.downloads().length > 0 && hub.downloads().every((r) => r.authorization === undefined), 'hub.downloads().length > 0 && hub.downloads().every((r) => r.authorization === undefined)');
  for (const file of await walk(cacheDir)) {
    assert.ok(!(await readFile(file)).includes(TOKEN), `token found in ${file}`);
    assert.ok(!file.includes(TOKEN), '!file.includes(TOKEN)');
  }
});

test('an unreachable endpoint fails fast with the local-copy hint; a cached dataset still opens offline', async () => {
  const data = hubData({ dataset: 'frgfm/imagenette', hub_config: '160px', hub_split: 'validation' });
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const deadEndpoint = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise((r) => probe.close(r));

  process.env.HF_ENDPOINT = deadEndpoint;
  const t0 = Date.now();
  await assert.rejects(openHubSource(data, { cacheDir }), (e: unknown) => {
    assert.ok(e instanceof UserError, 'e instanceof UserError');
    assert.match(e.message, /cannot reach the Hugging Face Hub at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    assert.match(e.message, /--set data\.source=folder --set data\.root=/);
    return true;
  });
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);

  process.env.HF_ENDPOINT = hub.url;
  const online = await openHubSource(data, { cacheDir });
  process.env.HF_ENDPOINT = deadEndpoint;
  const offline = await openHubSource(data, { cacheDir });
  assert.equal(offline.identity, online.identity);
  assert.deepEqual(await offline.items[0].read(), await online.items[0].read());

  // HF_HUB_OFFLINE=1: no request at all; a dataset not in the cache says so.
  process.env.HF_ENDPOINT = hub.url;
  process.env.HF_HUB_OFFLINE = '1';
  try {
    const before = hub.requests.length;
    assert.equal((await openHubSource(data, { cacheDir })).identity, online.identity);
    assert.equal(hub.requests.length, before);
    await assert.rejects(
      openHubSource({ ...data, hub_split: 'train' }, { cacheDir }),
      /HF_HUB_OFFLINE=1 but frgfm\/imagenette \(160px\/train@main\) is not in the cache.*data\.source=folder/,
    );
  } finally {
    delete process.env.HF_HUB_OFFLINE;
  }
});

test('a missing split or dataset names what is available', async () => {
  await assert.rejects(
    openHubSource(hubData({ dataset: 'frgfm/imagenette', hub_config: '160px', hub_split: 'test' }), { cacheDir }),
    /no parquet files for config "160px" split "test"; available.*160px\/train, 160px\/validation/,
  );
  await assert.rejects(openHubSource(hubData({ dataset: 'nobody/nothing' }), { cacheDir }), /nobody\/nothing was not found.*HTTP 404/);
  await assert.rejects(openHubSource(hubData({ dataset: 'not a repo!' }), { cacheDir }), /data\.dataset="not a repo!"/);
});

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(p)));
    else if ((await stat(p)).isFile()) out.push(p);
  }
  return out;
}

after(async () => {
  // cache folders of each test
  for (const d of (await readdir(tmpdir())).filter((n) => n.startsWith('dsi-hub-'))) {
    await rm(join(tmpdir(), d), { recursive: true, force: true });
  }
});

test('end to end: prepareCorpus builds a small corpus through data.source=hub, then reuses it', async () => {
  const { prepareCorpus } = await import('../src/data/corpus.ts');
  const data = hubData({
    dataset: 'frgfm/imagenette',
    hub_config: '160px',
    num_images: 12,
    min_images_per_class: 4,
    image_size: 32,
  });
  const corpus = await prepareCorpus(data, { cacheRoot: cacheDir });
  assert.equal(corpus.reused, false);
  assert.equal(corpus.records.length, 12);
  assert.deepEqual([...corpus.classNames].sort(), CLASSES.map((c) => c.name).sort());
  assert.equal(corpus.records.filter((r) => r.role === 'indexed').length, 3); // first quarter of each class
  assert.equal(corpus.pixels.length, 12 * 32 * 32 * 3);
  // Each row holds the photo its source names: compare with the original JPEG resized by sharp.
  const sha = fakeSha('imagenette-parquet');
  for (const record of corpus.records.slice(0, 4)) {
    const row = Number(/#(\d+)$/.exec(record.source)![1]);
    assert.ok(record.source.startsWith(`hub:frgfm/imagenette@${sha}/160px/train#`), 'record.source.startsWith(`hub:frgfm/imagenette@${sha}/160px/train#`)');
    assert.deepEqual(record.classes, [CLASSES[images[row].label!].name]);
    const expected = await sharp(images[row].bytes).resize(32, 32).removeAlpha().raw().toBuffer();
    const got = corpus.pixels.subarray(record.row * 32 * 32 * 3, (record.row + 1) * 32 * 32 * 3);
    let diff = 0;
    for (let i = 0; i < got.length; i++) diff += Math.abs(got[i] - expected[i]);
    assert.ok(diff / got.length < 12, `row ${row}: mean abs diff ${diff / got.length}`);
  }
  const downloads = hub.downloads().length;
  const again = await prepareCorpus(data, { cacheRoot: cacheDir });
  assert.equal(again.reused, true);
  assert.equal(again.hash, corpus.hash);
  assert.equal(hub.downloads().length, downloads);
});
