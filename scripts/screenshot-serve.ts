/**
 * The README's picture of `dsi serve`'s query browser: trains a small run on the embedded
 * data/samples in a temp folder (all 10 classes, 64 px, a few minutes on two cores), builds its
 * BoVW index, evaluates it, serves it, opens a test query in headless Chromium (the browser
 * test's helper) and writes a palette PNG.
 *
 *   npx tsx scripts/screenshot-serve.ts [--out docs/serve-query-browser.png] [--keep | --dir DIR]
 *
 * --keep leaves the trained run in its temp folder; --dir DIR shoots a run kept that way again.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { PROJECT_ROOT } from '../src/config/load.ts';
import { startServer } from '../src/serve/server.ts';
import { Browser, findChromium } from '../test/helpers/chromium.ts';
import { rootsIn, trainSampleRuns } from '../test/helpers/serve-runs.ts';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: join(PROJECT_ROOT, 'docs', 'serve-query-browser.png') },
    keep: { type: 'boolean', default: false },
    dir: { type: 'string' },
  },
});

process.env.DSI_NO_PROGRESS = '1';
const binary = findChromium();
if (!binary) throw new Error('no Chromium found: install the chromium package (apt-get install chromium) or set CHROMIUM_PATH');
const dir = values.dir ? resolve(values.dir) : mkdtempSync(join(tmpdir(), 'dsi-screenshot-'));
const roots = rootsIn(dir);
const RUN = 'samples-64px';
try {
  if (!existsSync(join(roots.experimentsDir, RUN))) {
    process.stderr.write(`training the sample run in ${dir} ...\n`);
    await trainSampleRuns(roots, ['samples-64px'], [
    'data.num_images=400', 'data.min_images_per_class=40', 'data.retrieval_fraction=0.5', 'data.query_split=[0.8,0.1,0.1]', 'data.image_size=64',
    'model.embed_dim=64', 'model.ffn_dim=128', 'model.encoder_layers=2', 'model.decoder_layers=2', 'model.dropout=0',
    'train.batch_size=32', 'train.indexing_epochs=60', 'train.retrieval_epochs=5', 'train.index_replay=1', 'train.workers=auto',
    'bovw.clusters=100', 'bovw.kmeans_iterations=30',
  ]);
  }
  const server = await startServer({ ...roots, port: 0, backend: 'wasm' });
  const browser = await Browser.launch(binary);
  try {
    const page = await browser.newPage(1280, 880);
    // Test queries sorted by the fine-tuned model's AP@6, worst first; the picture shows its best one.
    const list = `set=test&k=6&sort=fine-tuned`;
    const queries = (await (await fetch(`${server.url}api/runs/${RUN}/queries?${list}`)).json()) as { queries: { key: string }[] };
    const query = queries.queries.at(-1)!.key;
    await page.goto(`${server.url}#/run/${RUN}/queries?${list}&q=${encodeURIComponent(query)}`);
    await page.waitFor(`document.querySelectorAll('.results .model .tile').length === 18`, 'the results');
    await page.waitFor(`[...document.images].every((i) => i.complete && i.naturalWidth > 0)`, 'the thumbnails');
    const raw = join(dir, 'shot.png');
    await page.screenshot(raw);
    // A palette PNG keeps the README's picture small.
    const out = resolve(values.out!);
    await writeFile(out, await sharp(raw).png({ palette: true, colors: 192, effort: 10, compressionLevel: 9 }).toBuffer());
    process.stderr.write(`${out}: ${(statSync(out).size / 1024).toFixed(0)} KB\n`);
  } finally {
    await browser.close();
    await server.close();
  }
} finally {
  if (values.keep) process.stderr.write(`kept ${dir} (--dir ${dir} shoots it again)\n`);
  else if (!values.dir) rmSync(dir, { recursive: true, force: true });
}
