import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import sharp from 'sharp';
import { PROJECT_ROOT } from '../src/config/load.ts';
import { loadCorpusByHash } from '../src/data/corpus.ts';
import type { Corpus } from '../src/data/types.ts';
import { averagePrecisionAtK, relevanceOf } from '../src/eval/metrics.ts';
import { corpusQueries } from '../src/eval/queries.ts';
import { bovwRanker, vitRanker } from '../src/eval/rankers.ts';
import { openRun } from '../src/runs/open.ts';
import { startServer, type RunningServer } from '../src/serve/server.ts';
import { Browser, findChromium } from './helpers/chromium.ts';
import { rootsIn, SAMPLES, trainSampleRuns } from './helpers/serve-runs.ts';
import { tempDir } from './train-fixtures.ts';

process.env.DSI_NO_PROGRESS = '1';
const dirs = tempDir('serve');
const roots = rootsIn(dirs.path);
const UPLOAD_LIMIT = 200_000;
let server: RunningServer;
let slowServer: RunningServer;
let corpus: Corpus;

/** `dsi serve` as a user starts it; started first, since loading the CLI takes seconds, and asked once the runs exist. */
function startCli() {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'dsi.js'), 'serve', '--port', '0', '--experiments', roots.experimentsDir, '--checkpoints', roots.checkpointsDir], {
    env: { ...process.env, DSI_CACHE_DIR: roots.cacheRoot },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = new Promise<{ url: string; output: string }>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
      const m = /dsi serve: (http:\/\/[^ ]+) /.exec(output);
      if (m) resolve({ url: m[1], output });
    });
    child.on('exit', (code) => reject(new Error(`dsi serve exited with ${code}: ${output}`)));
  });
  url.catch(() => {});
  return { child, url };
}
let cli: ReturnType<typeof startCli>;

before(async () => {
  cli = startCli();
  await trainSampleRuns(roots, ['alpha', 'beta']);
  const run = JSON.parse(readFileSync(join(roots.experimentsDir, 'alpha', 'run.json'), 'utf8'));
  corpus = await loadCorpusByHash(run.corpus_hash, roots.cacheRoot);
  [server, slowServer] = await Promise.all([
    startServer({ ...roots, port: 0, backend: 'wasm', maxUploadBytes: UPLOAD_LIMIT }),
    // Stands for a slow model: every ranking waits first.
    startServer({ ...roots, port: 0, backend: 'wasm', rankDelayMs: 400 }),
  ]);
  // Open the run in both (worker, checkpoints, corpus, BoVW index) side by side; no ranking yet.
  for (const r of await Promise.all([server, slowServer].map((s) => call(s.url, '/api/runs/alpha/queries?set=all')))) assert.equal(r.status, 200);
});
after(async () => {
  if (cli.child.exitCode === null) cli.child.kill();
  await Promise.all([server?.close(), slowServer?.close()]);
  dirs.cleanup();
});

interface Answer {
  status: number;
  type: string;
  body: Buffer;
  json: () => any;
}

/** A raw HTTP request: the path is sent exactly as written (fetch would normalise `..`). */
function call(base: string, path: string, opts: { method?: string; body?: Buffer; headers?: Record<string, string> } = {}): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body, json: () => JSON.parse(body.toString('utf8')) });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
const get = (path: string, headers?: Record<string, string>) => call(server.url, path, { headers });
const testRows = () => corpus.records.filter((r) => r.role === 'test');
const sampleFile = () => {
  const cls = readdirSync(SAMPLES).filter((n) => n.startsWith('n')).sort()[0];
  return { cls, path: join(SAMPLES, cls, readdirSync(join(SAMPLES, cls)).sort()[0]) };
};

describe('dsi serve: the JSON API', () => {
  it('GET /api/runs lists the runs with status, dataset, DB size, IDs and headline metrics', async () => {
    const r = await get('/api/runs');
    assert.equal(r.status, 200);
    assert.match(r.type, /application\/json/);
    const runs = r.json();
    assert.deepEqual(runs.map((x: any) => x.name), ['alpha', 'beta']);
    for (const run of runs) {
      assert.equal(run.status, 'finished');
      assert.equal(run.dataset, 'samples');
      assert.equal(run.db_size, 40);
      assert.equal(run.ids, 'clustered');
      assert.equal(run.evaluated, true);
      assert.deepEqual(run.checkpoints, { indexing: true, retrieval: true });
      assert.equal(typeof run.map10, 'number');
    }
  });

  it('GET /api/runs/<run> carries the eval table exactly as eval.md and the training-curve plots', async () => {
    const run = (await get('/api/runs/alpha')).json();
    assert.equal(run.evalMarkdown, readFileSync(join(roots.experimentsDir, 'alpha', 'eval.md'), 'utf8'));
    assert.deepEqual(run.plots, ['indexing-curves.png', 'retrieval-curves.png']);
    assert.equal(run.config.train.indexing_epochs, 3);
    const plot = await get('/api/runs/alpha/plots/indexing-curves.png');
    assert.equal(plot.status, 200);
    assert.equal(plot.type, 'image/png');
    assert.deepEqual(plot.body, readFileSync(join(roots.experimentsDir, 'alpha', 'plots', 'indexing-curves.png')));
    assert.equal((await get('/api/runs/nope')).status, 404);
    assert.equal((await get('/api/runs/alpha/plots/missing.png')).status, 404);
  });

  it('lists a query set with the run\'s models; sorting by a model ranks every query and puts its worst AP@K first', async () => {
    const r = (await get('/api/runs/alpha/queries?set=test')).json();
    assert.deepEqual(r.models.map((m: any) => m.kind), ['bovw', 'zero-shot', 'fine-tuned']);
    assert.deepEqual(r.sets, ['test', 'all']);
    assert.equal(r.k, 10);
    assert.deepEqual(r.queries.map((q: any) => q.key), testRows().map((row) => `row:${row.row}`));
    const all = (await get('/api/runs/alpha/queries?set=all&sort=zero-shot&k=5')).json();
    assert.equal(all.queries.length, corpus.records.filter((x) => x.role !== 'indexed').length);
    const aps = all.queries.map((q: any) => q.ap['zero-shot']);
    assert.ok(aps.every((v: unknown) => typeof v === 'number'), 'every query has an AP once sorted');
    assert.deepEqual(aps, [...aps].sort((a, b) => a - b));
    assert.equal((await get('/api/runs/alpha/queries?set=nope')).status, 400);
    assert.equal((await get('/api/runs/alpha/queries?k=0')).status, 400);
    assert.equal((await get('/api/runs/alpha/queries?k=x')).status, 400);
  });

  it("a query's results: top K per model with rank, ID, score, class and relevance, the same lists as dsi eval's rankers, and AP@K", async () => {
    const row = testRows()[0];
    const r = (await get(`/api/runs/alpha/results?key=row:${row.row}&k=5`)).json();
    assert.equal(r.query.key, `row:${row.row}`);
    assert.deepEqual(r.query.classes, row.classes);
    // WordNet-ID classes are shown by their human names (data/samples is Imagenette).
    assert.ok(r.query.class_names.every((n: string) => !/^n\d{8}$/.test(n)), `display names ${r.query.class_names}`);
    // The rankers `dsi eval` and `dsi search` use, on the same query, give the same lists.
    const opened = await openRun({ run: 'alpha', checkpointsDir: roots.checkpointsDir, cacheRoot: roots.cacheRoot, backend: 'wasm', log: () => {} });
    const set = corpusQueries(opened.corpus, [row], 'one');
    const rankers = [(await bovwRanker(opened.corpus, opened.config.bovw))!, vitRanker('zero-shot', opened.indexing, opened.corpus, opened.config.decode), vitRanker('fine-tuned', opened.retrieval!, opened.corpus, opened.config.decode)];
    for (const [i, ranker] of rankers.entries()) {
      const model = r.models[i];
      assert.equal(model.kind, ranker.kind);
      const [expected] = (await ranker.rank(set, 5, () => {})).lists;
      ranker.dispose();
      assert.deepEqual(model.hits.map((h: any) => h.id), expected.ids, `${model.kind} ranks as dsi eval does`);
      assert.deepEqual(model.hits.map((h: any) => h.rank), [1, 2, 3, 4, 5]);
      for (const [j, hit] of model.hits.entries()) {
        assert.ok(Math.abs(hit.score - expected.scores[j]) < 1e-6, 'Math.abs(hit.score - expected.scores[j]) < 1e-6');
        const record = corpus.records[corpus.indexedRows[hit.id]];
        assert.equal(hit.row, record.row);
        assert.deepEqual(hit.classes, record.classes);
        assert.equal(hit.class_names.length, record.classes.length);
        assert.equal(hit.relevant, row.relevantIds.includes(hit.id));
      }
      assert.equal(model.ap, averagePrecisionAtK(expected.ids, relevanceOf(row.relevantIds), 5));
    }
    assert.equal((await get('/api/runs/alpha/results?key=row:0')).status, 400, 'an indexed image is not a query');
    assert.equal((await get('/api/runs/alpha/results?key=nope')).status, 400);
  });

  it('serves corpus images as PNG thumbnails from the corpus cache', async () => {
    const r = await get('/api/runs/alpha/image?key=row:0');
    assert.equal(r.status, 200);
    assert.equal(r.type, 'image/png');
    const { data, info } = await sharp(r.body).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [32, 32, 3]);
    assert.deepEqual(new Uint8Array(data), corpus.pixels.subarray(0, 32 * 32 * 3));
    assert.equal((await get('/api/runs/alpha/image?key=row:9999')).status, 404);
  });

  it('GET /api/compare: metrics side by side and the config keys that differ; curves as SVG', async () => {
    const c = (await get('/api/compare?runs=alpha,beta')).json();
    assert.deepEqual(c.runs, ['alpha', 'beta']);
    assert.deepEqual(c.config_diff['train.index_replay'], [0, 1]);
    assert.equal(c.metrics['eval/fine-tuned/MAP@10'].length, 2);
    const svg = await get('/api/compare/curves.svg?runs=alpha,beta');
    assert.equal(svg.status, 200);
    assert.match(svg.body.toString(), /^<svg/);
    assert.equal((await get('/api/compare?runs=alpha,nope')).status, 404);
  });
});

describe('dsi serve: uploads', () => {
  const upload = (body: Buffer, query = '') => call(server.url, `/api/runs/alpha/upload${query}`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });

  it('an uploaded image is decoded like dsi search decodes files and ranked by every model; its class marks relevance', async () => {
    const { cls, path } = sampleFile();
    const r = await upload(readFileSync(path), `?class=${cls}`);
    assert.equal(r.status, 200, r.body.toString());
    const { key, classes } = r.json();
    assert.match(key, /^upload:[0-9a-f]{16}$/);
    assert.deepEqual(classes, [cls]);
    const results = (await get(`/api/runs/alpha/results?key=${encodeURIComponent(key)}&k=4`)).json();
    assert.equal(results.models.length, 3);
    for (const m of results.models) {
      assert.equal(m.hits.length, 4);
      for (const h of m.hits) assert.equal(h.relevant, h.classes.includes(cls));
    }
    assert.equal((await get(`/api/runs/alpha/image?key=${encodeURIComponent(key)}`)).status, 200);
    const unknown = (await upload(readFileSync(path))).json();
    const plain = (await get(`/api/runs/alpha/results?key=${encodeURIComponent(unknown.key)}&k=4`)).json();
    assert.ok(plain.models.every((m: any) => m.ap === null && m.hits.every((h: any) => h.relevant === null)), 'no class: no relevance');
  });

  it('refuses files that are not images, empty bodies, unknown classes and uploads over the size limit, with a clear message', async () => {
    const bad = await upload(Buffer.from('this is not an image'));
    assert.equal(bad.status, 400);
    assert.match(bad.json().error, /not an image dsi can read/);
    const empty = await upload(Buffer.alloc(0));
    assert.equal(empty.status, 400);
    assert.match(empty.json().error, /empty/);
    const cls = await upload(readFileSync(sampleFile().path), '?class=nope');
    assert.equal(cls.status, 400);
    assert.match(cls.json().error, /class "nope" is not one of/);
    const big = await upload(Buffer.alloc(UPLOAD_LIMIT + 1, 1));
    assert.equal(big.status, 413);
    assert.match(big.json().error, /upload too large/);
  });
});

describe('dsi serve: only files of runs and corpora', () => {
  before(() => {
    const secret = join(dirs.path, 'secret');
    mkdirSync(secret, { recursive: true });
    writeFileSync(join(secret, 'x.png'), 'SECRET-CONTENT');
    symlinkSync(join(secret, 'x.png'), join(roots.experimentsDir, 'alpha', 'plots', 'link.png'));
    // A run whose plots/ folder points out, and a "run" that is itself a link to a folder outside.
    mkdirSync(join(roots.experimentsDir, 'gamma'));
    writeFileSync(join(roots.experimentsDir, 'gamma', 'run.json'), '{}');
    symlinkSync(secret, join(roots.experimentsDir, 'gamma', 'plots'));
    writeFileSync(join(secret, 'run.json'), '{}');
    symlinkSync(secret, join(roots.experimentsDir, 'linked'));
  });
  after(() => {
    for (const p of ['gamma', 'linked', 'alpha/plots/link.png']) rmSync(join(roots.experimentsDir, p), { recursive: true, force: true });
  });

  const attempts = [
    '/api/runs/alpha/plots/../../../../../../etc/passwd',
    '/api/runs/alpha/plots/..%2f..%2fconfig.yaml',
    '/api/runs/alpha/plots/%2e%2e%2f%2e%2e%2fconfig.yaml',
    '/api/runs/alpha/plots/%2e%2e',
    '/api/runs/%2e%2e/plots/indexing-curves.png',
    '/api/runs/..%5c..%5cexperiments/plots/x.png',
    '/api/runs/alpha/plots/%2fetc%2fpasswd',
    '/api/runs/alpha/plots//etc/passwd',
    '/api/runs/alpha/plots/%00.png',
    '/../package.json',
    '/%2e%2e/package.json',
    '/app.js/../../package.json',
    '/etc/passwd',
    '//etc/passwd',
    '/api/runs/alpha/plots/link.png',
    '/api/runs/gamma/plots/x.png',
    '/api/runs/linked/plots/x.png',
    '/api/runs/linked',
  ];
  for (const path of attempts) {
    it(`refuses ${path}`, async () => {
      const r = await get(path);
      assert.ok([400, 404].includes(r.status), `${path}: status ${r.status}`);
      assert.doesNotMatch(r.body.toString(), /SECRET-CONTENT|root:|"name": "dsi"|data:/);
    });
  }

  it('lists neither linked plots nor linked runs, answers only to localhost names, and only GET on pages', async () => {
    assert.deepEqual((await get('/api/runs/alpha')).json().plots, ['indexing-curves.png', 'retrieval-curves.png']);
    assert.deepEqual((await get('/api/runs/gamma')).json().plots, []);
    assert.ok(!(await get('/api/runs')).json().some((r: any) => r.name === 'linked'), '!(await get(\'/api/runs\')).json().some((r: any) => r.name === \'linked\')');
    assert.equal((await get('/api/runs', { host: 'evil.example:80' })).status, 421, 'DNS rebinding: a foreign Host name is refused');
    assert.equal((await get('/api/runs', { host: 'localhost' })).status, 200);
    assert.equal((await call(server.url, '/api/runs', { method: 'DELETE' })).status, 404);
    assert.equal((await call(server.url, '/', { method: 'POST' })).status, 404);
    const page = await get('/');
    assert.equal(page.status, 200);
    assert.match(page.type, /text\/html/);
    assert.match(String((await get('/app.js')).type), /javascript/);
  });
});

describe('dsi serve: a slow query does not block the page', () => {
  it('other requests are answered while rankings are running, and a looked-at query goes before a whole-set sort', async () => {
    const at = (path: string) => call(slowServer.url, path);
    const t0 = Date.now();
    let sortDone = 0;
    let queryDone = 0;
    const sort = at('/api/runs/alpha/queries?set=all&sort=fine-tuned').then((r) => ((sortDone = Date.now()), r));
    await new Promise((r) => setTimeout(r, 100));
    const key = `row:${corpus.records.filter((r) => r.role !== 'indexed').at(-1)!.row}`; // in the sort's last chunk
    const query = at(`/api/runs/alpha/results?key=${key}`).then((r) => ((queryDone = Date.now()), r));
    for (const path of ['/api/runs', '/api/runs/beta', '/api/runs/alpha/image?key=row:3', '/']) {
      const start = Date.now();
      assert.equal((await at(path)).status, 200);
      // Far less than the rankings in flight take (each waits 400 ms), even on a busy machine.
      assert.ok(Date.now() - start < 1000, `${path} took ${Date.now() - start} ms while rankings ran`);
    }
    assert.equal(queryDone, 0, 'the rankings were still running');
    assert.equal((await query).status, 200);
    assert.equal((await sort).status, 200);
    assert.ok(queryDone < sortDone, `the query (${queryDone - t0} ms) waited for the sort (${sortDone - t0} ms)`);
  });
});

describe('dsi serve: the command', () => {
  it('binds 127.0.0.1 by default and prints the URL', async () => {
    const { url, output } = await cli.url;
    assert.match(output, /^dsi serve: http:\/\/127\.0\.0\.1:\d+\/ \(Ctrl-C stops\)\n$/);
    const r = await call(url, '/api/runs');
    assert.deepEqual(r.json().map((x: any) => x.name), ['alpha', 'beta']);
    const exited = new Promise<number | null>((resolve) => cli.child.once('exit', resolve));
    cli.child.kill('SIGINT');
    assert.equal(await exited, 0, 'Ctrl-C stops it cleanly');
  });
});

describe('dsi serve: the page in a real browser', () => {
  it('loads the run list, opens a query and shows every model\'s top K', async (t) => {
    const binary = findChromium();
    if (!binary) return t.skip('no Chromium found (install the chromium package or set CHROMIUM_PATH): browser test skipped');
    const browser = await Browser.launch(binary);
    try {
      const page = await browser.newPage(1280, 900);
      await page.goto(server.url);
      assert.equal(await page.waitFor<number>(`document.querySelectorAll('table.runs tbody tr').length`, 'the run list'), 2);
      await page.click('tr[data-run="alpha"] a[href$="/queries"]');
      const tests = testRows().length;
      assert.equal(await page.waitFor<number>(`document.querySelectorAll('.qthumb').length`, 'the query list'), tests);
      await page.click(`.qthumb[data-key="row:${testRows()[2].row}"]`);
      const tiles = `[...document.querySelectorAll('.results .model')].map((m) => [m.dataset.kind, m.querySelectorAll('.tile').length])`;
      await page.waitFor(`document.querySelectorAll('.results .model .tile').length === 30`, 'three models x 10 results');
      assert.deepEqual(await page.evaluate(tiles), [['bovw', 10], ['zero-shot', 10], ['fine-tuned', 10]]);
      const api = (await get(`/api/runs/alpha/results?key=row:${testRows()[2].row}&k=10`)).json();
      const relevant = api.models.reduce((n: number, m: any) => n + m.hits.filter((h: any) => h.relevant).length, 0);
      assert.equal(await page.evaluate(`document.querySelectorAll('.results .tile.relevant').length`), relevant, 'relevant results are outlined');
      assert.equal(await page.evaluate(`document.querySelectorAll('.results .tile.relevant, .results .tile.irrelevant').length`), 30);
      // A smaller K, then an uploaded file: the grid follows.
      await page.evaluate(`(() => { const s = document.querySelectorAll('#controls select')[1]; s.value = '5'; s.dispatchEvent(new Event('change')); })()`);
      await page.waitFor(`document.querySelectorAll('.results .model .tile').length === 15`, 'three models x 5 results');
      await page.setFile('.dropzone input[type=file]', sampleFile().path);
      await page.waitFor(`location.hash.includes('q=upload') && document.querySelectorAll('.results .model .tile').length === 15 && document.querySelector('.query-head')?.textContent.includes('upload')`, 'the upload\'s results');
      const bad = join(dirs.path, 'not-an-image.jpg');
      writeFileSync(bad, 'garbage');
      await page.setFile('.dropzone input[type=file]', bad);
      const message = await page.waitFor<string>(`document.querySelector('.upload-status .error')?.textContent`, 'the upload error');
      assert.match(message, /not an image dsi can read/);
      assert.deepEqual(browser.log.filter((l) => l.startsWith('page error')), []);
    } finally {
      await browser.close();
    }
  });
});
