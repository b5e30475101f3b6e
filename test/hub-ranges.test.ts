import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rename, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataSection, type DataConfig } from '../src/config/sections/data.ts';
import { prepareCorpus } from '../src/data/corpus.ts';
import { openHubSource } from '../src/data/sources/hub.ts';
import { Rng } from '../src/runtime/rng.ts';
import { buildImageShard, fakeSha, startFakeHub, type FakeHub, type LabelledImage } from './helpers/fake-hub-server.ts';
import { SAMPLE_PHOTOS, sampleClasses } from './helpers/test-data.ts';

/**
 * A split of many shards and row groups read by byte ranges: selecting a few images must move a
 * small fraction of the split (labels, footers, and the row groups of the chosen rows only).
 */
process.env.DSI_NO_PROGRESS = '1';
process.env.DSI_CONNECT_TIMEOUT_MS = '2000';

const SHARDS = 8;
const ROW_GROUP = 4;
const REPO = 'someone/big-split';
const SHA = fakeSha('big-split-parquet');

let hub: FakeHub;
let cacheDir: string;
let images: LabelledImage[];
let splitBytes = 0;
let classes: string[];

function data(overrides: Partial<DataConfig> = {}): DataConfig {
  return dataSection.parse({
    source: 'hub',
    dataset: REPO,
    hub_config: 'default',
    num_images: 10,
    min_images_per_class: 5,
    image_size: 32,
    ...overrides,
  });
}

before(async () => {
  classes = sampleClasses();
  images = [];
  for (const [label, wnid] of classes.entries()) {
    for (const name of (await readdir(join(SAMPLE_PHOTOS, wnid))).sort()) {
      images.push({ bytes: await readFile(join(SAMPLE_PHOTOS, wnid, name)), name, label });
    }
  }
  // Shuffled like a Hub split, so a class's first images are spread over shards and row groups.
  const rng = new Rng(7);
  for (let i = images.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [images[i], images[j]] = [images[j], images[i]];
  }
  const perShard = Math.ceil(images.length / SHARDS);
  const files: Record<string, Uint8Array> = {};
  for (let s = 0; s < SHARDS; s++) {
    const bytes = await buildImageShard(images.slice(s * perShard, (s + 1) * perShard), classes, { rowGroupSize: ROW_GROUP });
    files[`default/train/${String(s).padStart(4, '0')}.parquet`] = bytes;
    splitBytes += bytes.length;
  }
  hub = await startFakeHub({
    [REPO]: {
      revisions: {
        main: { sha: fakeSha('big-split-main'), files: { 'loader.py': new TextEncoder().encode('# script') } },
        'refs/convert/parquet': { sha: SHA, files },
      },
    },
  });
});

after(async () => {
  await hub.close();
  delete process.env.DSI_HUB_WHOLE_SHARD_BYTES;
});

beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'dsi-hub-ranges-'));
  process.env.HF_ENDPOINT = hub.url;
  process.env.DSI_HUB_WHOLE_SHARD_BYTES = '0'; // every shard counts as large here
  delete process.env.HF_HUB_OFFLINE;
  hub.requests.length = 0;
});

after(async () => {
  for (const d of (await readdir(tmpdir())).filter((n) => n.startsWith('dsi-hub-ranges-'))) {
    await rm(join(tmpdir(), d), { recursive: true, force: true });
  }
});

/** Row group (shard, group) of each global row. */
function groupOf(row: number): string {
  const perShard = Math.ceil(images.length / SHARDS);
  return `${Math.floor(row / perShard)}/${Math.floor((row % perShard) / ROW_GROUP)}`;
}

const rowOf = (source: string) => Number(/#(\d+)$/.exec(source)![1]);

test('a 10-image selection from a 400-image, 8-shard split fetches labels and its own row groups only', async (t) => {
  const corpus = await prepareCorpus(data(), { cacheRoot: cacheDir });
  assert.equal(corpus.records.length, 10);
  const moved = hub.bytesTransferred();
  const fraction = moved / splitBytes;
  const groups = new Set(corpus.records.map((r) => groupOf(rowOf(r.source))));
  const totalGroups = SHARDS * Math.ceil(images.length / SHARDS / ROW_GROUP);
  t.diagnostic(
    `split ${splitBytes} B in ${SHARDS} shards / ${totalGroups} row groups; moved ${moved} B (${(fraction * 100).toFixed(1)}%) ` +
      `in ${hub.downloads().length} range requests; ${groups.size} row groups hold the selection`,
  );
  assert.ok(hub.downloads().every((r) => r.range && /^bytes=\d+-\d+$/.test(r.range)), 'only bounded range requests');
  assert.ok(fraction < 0.2, `moved ${(fraction * 100).toFixed(1)}% of the split`);
  // The images stored: exactly the row groups of the chosen rows (no other group's image column).
  const shardDir = join(cacheDir, 'hub', 'datasets--someone--big-split', SHA, 'default', 'train');
  let storedRanges = 0;
  for (const s of await readdir(shardDir)) if (s.endsWith('.ranges')) storedRanges += (await readdir(join(shardDir, s))).length;
  assert.equal(storedRanges, SHARDS + groups.size, 'one footer per shard + one image range per selected row group');
  // Each record holds the photo of its row, under the right class.
  for (const record of corpus.records) {
    const row = rowOf(record.source);
    assert.deepEqual(record.classes, [classes[images[row].label!]]);
  }

  // Built again from scratch (the corpus cache forced): everything comes from the range cache.
  hub.requests.length = 0;
  const again = await prepareCorpus(data(), { cacheRoot: cacheDir, force: true });
  assert.equal(hub.bytesTransferred(), 0);
  assert.deepEqual(Buffer.from(again.pixels), Buffer.from(corpus.pixels));

  // Offline: the split opens from the cache (labels.json + stored footers); stored rows read, others say why.
  process.env.HF_HUB_OFFLINE = '1';
  hub.requests.length = 0;
  const offline = await openHubSource(data(), { cacheDir });
  assert.equal(hub.requests.length, 0);
  const chosen = rowOf(corpus.records[0].source);
  assert.deepEqual(Buffer.from(await offline.items.find((it) => rowOf(it.source) === chosen)!.read()), Buffer.from(images[chosen].bytes));
  const other = offline.items.find((it) => !groups.has(groupOf(rowOf(it.source))))!;
  await assert.rejects(other.read(), /HF_HUB_OFFLINE=1 but bytes \d+-\d+ of .* are not in the cache/);
});

test('an interrupted range transfer resumes where it stopped, within the same range', async () => {
  // A transfer broken mid-way is resumed inside the call...
  hub.breakNextTransfers(3);
  const corpus = await prepareCorpus(data(), { cacheRoot: cacheDir });
  const resumed = hub.downloads().filter((r, i, all) => all.some((p, j) => j < i && p.url === r.url && p.range !== r.range));
  assert.ok(resumed.length > 0, 'some range was requested again from a later offset');

  // ...and a .part left by a run that was killed is continued by the next run.
  const shardDir = join(cacheDir, 'hub', 'datasets--someone--big-split', SHA, 'default', 'train');
  const rangeDir = join(shardDir, (await readdir(shardDir)).find((s) => s.endsWith('.ranges'))!);
  const ranges = (await readdir(rangeDir)).map((n) => n.split('-').map(Number)).sort((a, b) => b[1] - b[0] - (a[1] - a[0]));
  const [start, end] = ranges[0]; // the largest: an image row group
  const half = Math.floor((end - start) / 2);
  await rename(join(rangeDir, `${start}-${end}`), join(rangeDir, `${start}-${end}.part`));
  await truncate(join(rangeDir, `${start}-${end}.part`), half);
  hub.requests.length = 0;
  const again = await prepareCorpus(data(), { cacheRoot: cacheDir, force: true });
  assert.deepEqual(
    hub.downloads().map((r) => r.range),
    [`bytes=${start + half}-${end - 1}`],
  );
  assert.deepEqual(Buffer.from(again.pixels), Buffer.from(corpus.pixels));
});
