import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/config/load.ts';
import { seedBranchStore } from '../src/track/branch.ts';
import { syncRun } from '../src/track/wandb/sync.ts';
import { createTracker, logRunImage } from '../src/track/tracker.ts';
import { deadUrl, startFakeWandb } from './helpers/fake-wandb-server.ts';

// Sentinels: if either shows up in a file or in the output, a secret leaked.
const API_KEY = 'f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed';
const HF_TOKEN = 'hf_SENTINELsentinelSENTINEL';
const BASIC = `Basic ${Buffer.from(`api:${API_KEY}`).toString('base64')}`;

/**
 * Every test here gets a deadline: a hang (a socket nobody closes, a promise never settled) fails
 * that test after 4 minutes instead of stalling the suite. Children still running are killed.
 */
const T = { timeout: 240_000 };
const children = new Set<import('node:child_process').ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Run test/helpers/tracked-run.ts in its own process; resolve with its output and duration (`.child` to kill it). */
function trackedRun(experimentsDir: string, run: string, env: Record<string, string>, overrides: string[] = []) {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', join('test', 'helpers', 'tracked-run.ts'), experimentsDir, run, ...overrides], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH!, HOME: tmpdir(), HF_TOKEN, DSI_TEST_WANDB_TIMEOUT_MS: '1500', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const done = new Promise<{ code: number | null; output: string; ms: number }>((resolve) => child.on('exit', (code) => {
    children.delete(child);
    resolve({ code, output, ms: Date.now() - started });
  }));
  return Object.assign(done, { child });
}

async function waitFor(condition: () => boolean, what: string, ms = 15_000) {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** [_step, phase, epoch] of each history row W&B holds, in offset order. */
function stepsAndEpochs(history: Array<Record<string, unknown>>) {
  return history.map((h) => [h._step, 'indexing/epoch' in h ? 'indexing' : 'retrieval', h['indexing/epoch'] ?? h['retrieval/epoch']]);
}

/** The rows of tracked-run's default schedule: 6 indexing then 4 retrieval epochs, steps 0-9. */
const FULL_SCHEDULE = [1, 2, 3, 4, 5, 6].map((e) => ['indexing', e]).concat([1, 2, 3, 4].map((e) => ['retrieval', e])).map(([p, e], step) => [step, p, e]);

/** Every file under dir, recursively, as text (PNG bytes included: a key could hide anywhere). */
function allFileContents(dir: string): string {
  let text = '';
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    text += statSync(p).isDirectory() ? allFileContents(p) : readFileSync(p).toString('latin1');
  }
  return text;
}

function assertNoSecret(where: string, text: string) {
  for (const secret of [API_KEY, HF_TOKEN, Buffer.from(`api:${API_KEY}`).toString('base64')]) {
    assert.ok(!text.includes(secret), `a secret appears in ${where}`);
  }
}

const tmp = () => mkdtempSync(join(tmpdir(), 'dsi-track-'));

test('online: config, per-phase history, eval summary, tags and group arrive; the key only as basic auth', T, async () => {
  const server = await startFakeWandb();
  const exp = tmp();
  try {
    const r = await trackedRun(exp, 'imnet-1024-random', { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: server.url, WANDB_PROJECT: 'dsi-test' }, ['data.num_images=1024', 'data.id_scheme=random']);
    assert.equal(r.code, 0, r.output);
    // The run's page, as W&B builds it: <app>/<entity>/<project>/runs/<run id>; nothing else.
    assert.equal(r.output, `dsi: W&B run: ${server.url}/fake-entity/dsi-test/runs/imnet-1024-random\n`, 'a healthy online run prints only its URL');
    const run = server.run('imnet-1024-random');
    assert.ok(run, 'the run was created');
    assert.equal(run.project, 'dsi-test');
    assert.equal(run.entity, 'fake-entity', 'default entity asked from the server');
    assert.equal(run.displayName, 'imnet-1024-random');
    // the whole resolved config, flattened
    assert.equal(run.config['data.num_images'].value, 1024);
    assert.equal(run.config['model.embed_dim'].value, 128);
    assert.equal(run.config['run.corpus_hash'].value, 'c0ffee');
    assert.deepEqual(run.config['data.query_split'].value, [0.8, 0.1, 0.1]);
    assert.equal(run.groupName, 'imagenette-1024-random');
    assert.deepEqual(run.tags, ['dataset:imagenette', 'db:1024', 'ids:random']);
    // history: 6 indexing + 4 retrieval epochs, names per phase, in order
    assert.equal(run.history.length, 10);
    assert.equal(run.history[0]['indexing/loss'], 2.4);
    assert.equal(run.history[5]['indexing/epoch'], 6);
    assert.equal(run.history[9]['retrieval/val_loss'], 0.75);
    assert.equal(run.history[9]._step, 9);
    assert.ok(!('retrieval/loss' in run.history[0]), '!(\'retrieval/loss\' in run.history[0])');
    assert.ok(run.complete, 'the file stream was closed');
    // each row carries the time its epoch ended, as recorded in metrics.jsonl
    const stored = readFileSync(join(exp, 'imnet-1024-random', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(run.history.map((h) => h._timestamp), stored.map((m) => m.timestamp));
    // training curves: PNG files under media/images/, referenced from the phase's last row and the summary
    for (const [phase, step] of [['indexing', 5], ['retrieval', 9]] as const) {
      const ref = run.history[step][`${phase}/curves`] as Record<string, unknown>;
      assert.equal(ref?._type, 'image-file', `${phase} curves in history row ${step}`);
      assert.match(String(ref.path), new RegExp(`^media/images/${phase}_curves_${step}_[0-9a-f]{20}\\.png$`));
      const png = run.files.get(String(ref.path));
      assert.ok(png, `${ref.path} uploaded`);
      assert.deepEqual(png, readFileSync(join(exp, 'imnet-1024-random', 'plots', `${phase}-curves.png`)));
      assert.equal(ref.size, png.length);
      assert.equal(ref.width, png.readUInt32BE(16));
      assert.deepEqual(run.summary[`${phase}/curves`], ref);
    }
    assert.equal(run.history[4]['indexing/curves'], undefined);
    // summary: eval metrics plus the last value of each curve
    assert.equal(run.summary['eval/ia@1'], 0.95);
    assert.equal(run.summary['eval/recall@100'], 0.77);
    assert.equal(run.summary['retrieval/val_loss'], 0.75);
    assert.equal(run.summary['indexing/id_accuracy'], 1 - 0.8 / 6);
    // auth: every request carried exactly what the SDK sends
    assert.ok(server.authHeaders.length >= 4, 'server.authHeaders.length >= 4');
    for (const h of server.authHeaders) assert.equal(h, BASIC);
    for (const req of server.requests) assertNoSecret(`the body of ${req.path}`, req.body);
    assertNoSecret('experiments/', allFileContents(exp));
    assertNoSecret('the output', r.output);
    const record = JSON.parse(readFileSync(join(exp, 'imnet-1024-random', 'run.json'), 'utf8'));
    assert.equal(record.wandb.mode, 'online');
    assert.equal(record.wandb.project, 'dsi-test');
    assert.ok(!existsSync(join(exp, 'imnet-1024-random', 'wandb-offline')), '!existsSync(join(exp, \'imnet-1024-random\', \'wandb-offline\'))');
  } finally {
    await server.close();
  }
});

/**
 * How long the tracker itself held the run up (start, epochs, finish; measured in the child, so
 * tsx start-up and plot rendering on a loaded machine do not count): with DSI_TEST_WANDB_TIMEOUT_MS
 * = 1500 a dead server may cost one start-up timeout, and training never waits on the network.
 */
function trackerTiming(file: string) {
  const t = JSON.parse(readFileSync(file, 'utf8')) as { start_ms: number; epochs_ms: number; finish_ms: number };
  return { ...t, total: t.start_ms + t.epochs_ms + t.finish_ms };
}

async function assertFallsBack(env: Record<string, string>, why: RegExp) {
  const exp = tmp();
  const timing = join(exp, 'timing.json');
  const r = await trackedRun(exp, 'r', { ...env, DSI_TEST_TIMING_FILE: timing }, ['tracking.wandb=online']);
  assert.equal(r.code, 0, r.output);
  const warnings = r.output.trim().split('\n');
  assert.equal(warnings.length, 1, `exactly one warning, got:\n${r.output}`);
  assert.match(warnings[0], why);
  assert.match(warnings[0], /dsi runs sync r/);
  const t = trackerTiming(timing);
  assert.ok(t.epochs_ms < 5_000 && t.finish_ms < 5_000, `after the fallback nothing waits on W&B: ${JSON.stringify(t)}`);
  assert.ok(t.start_ms < 1500 * 2 + 8_000, `the dead server cost the start more than a timeout: ${JSON.stringify(t)}`);
  const dir = join(exp, 'r');
  assert.equal(readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 10, 'local store complete');
  assert.ok(existsSync(join(dir, 'plots', 'retrieval-curves.png')), 'existsSync(join(dir, \'plots\', \'retrieval-curves.png\'))');
  assert.equal(readFileSync(join(dir, 'wandb-offline', 'history.jsonl'), 'utf8').trim().split('\n').length, 10, 'recorded for a later sync');
  assert.equal(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).wandb.mode, 'offline');
  assertNoSecret('experiments/', allFileContents(exp));
  assertNoSecret('the output', r.output);
}

test('unreachable W&B server: one warning, training goes on, everything in the local store', T, async () => {
  await assertFallsBack({ WANDB_API_KEY: API_KEY, WANDB_BASE_URL: await deadUrl() }, /unreachable/);
});

test('rejected key (401): one warning naming the key problem, training goes on', T, async () => {
  const server = await startFakeWandb('reject');
  try {
    await assertFallsBack({ WANDB_API_KEY: API_KEY, WANDB_BASE_URL: server.url }, /rejected the API key/);
    assert.ok(server.run('r') === undefined, 'server.run(\'r\') === undefined');
    assert.equal(server.requests.length, 1, 'one request (viewer), no retries after a 401');
  } finally {
    await server.close();
  }
});

test('offline run, then `runs sync` uploads config, history and summary', T, async () => {
  const exp = tmp();
  const r = await trackedRun(exp, 'off-1', {}, ['tracking.wandb=offline']);
  assert.equal(r.code, 0, r.output);
  assert.equal(r.output, '');
  const server = await startFakeWandb();
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const syncStarted = Date.now() / 1000;
  try {
    const result = await syncRun(exp, 'off-1', { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: server.url, WANDB_PROJECT: 'synced' }, 3000);
    assert.equal(result.rows, 10);
    const run = server.run('off-1')!;
    assert.equal(run.project, 'synced');
    assert.equal(run.config['data.num_images'].value, 512);
    assert.equal(run.history.length, 10);
    assert.equal(run.history[6]['retrieval/val_id_accuracy'], 0.7 - 0.5 / 1);
    assert.equal(run.summary['eval/map@10'], 0.41);
    assert.ok(run.complete, 'run.complete');
    // each row keeps the time its epoch ended, not the time of the sync
    const stored = readFileSync(join(exp, 'off-1', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(run.history.map((h) => h._timestamp), stored.map((m) => m.timestamp));
    for (const h of run.history) assert.ok((h._timestamp as number) < syncStarted, `row ${h._step} has the sync's time`);
    // the curves drawn offline are uploaded by the sync
    for (const phase of ['indexing', 'retrieval']) {
      const ref = run.summary[`${phase}/curves`] as { _type: string; path: string };
      assert.equal(ref?._type, 'image-file');
      assert.ok(run.files.has(ref.path), 'run.files.has(ref.path)');
    }
    assert.equal((run.history[5]['indexing/curves'] as { path: string }).path, (run.summary['indexing/curves'] as { path: string }).path);
    assert.equal(result.url, `${server.url}/fake-entity/synced/runs/off-1`);
    for (const h of server.authHeaders) assert.equal(h, BASIC);
    const record = JSON.parse(readFileSync(join(exp, 'off-1', 'run.json'), 'utf8'));
    assert.ok(record.wandb.synced_at, 'record.wandb.synced_at');
    assert.equal(record.wandb.url, result.url);
    assertNoSecret('experiments/', allFileContents(exp));
  } finally {
    await server.close();
  }
});

test('sync without a key or to a server that rejects it is a clear error', T, async () => {
  const exp = tmp();
  await trackedRun(exp, 'off-2', {}, ['tracking.wandb=offline']);
  await assert.rejects(syncRun(exp, 'off-2', {}), /WANDB_API_KEY is not set/);
  await assert.rejects(syncRun(exp, 'nope', { WANDB_API_KEY: API_KEY }), /run "nope" not found/);
  const server = await startFakeWandb('reject');
  try {
    await assert.rejects(syncRun(exp, 'off-2', { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: server.url }, 2000), (e: Error) => /rejected the API key/.test(e.message) && !e.message.includes(API_KEY));
  } finally {
    await server.close();
  }
});

test('dataset tags name the Hub repo, coco, or the folder (with its parent when the folder is only a split name)', T, async () => {
  const { datasetLabel } = await import('../src/data/dataset-label.ts');
  assert.equal(datasetLabel({ source: 'hub', dataset: 'zh-plus/tiny-imagenet' }), 'tiny-imagenet');
  assert.equal(datasetLabel({ source: 'coco', root: '/data/coco' }), 'coco');
  assert.equal(datasetLabel({ source: 'folder', root: 'data/samples' }), 'samples');
  assert.equal(datasetLabel({ source: 'folder', root: '../shared/data/imagenette-224/train' }), 'imagenette-224-train');
});

test('a resumed online run keeps the history W&B got before the process died', T, async () => {
  const server = await startFakeWandb();
  const exp = tmp();
  const env = { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: server.url };
  try {
    const first = trackedRun(exp, 'res', { ...env, DSI_TEST_SCHEDULE: 'indexing:1-3', DSI_TEST_HANG: '1' });
    await waitFor(() => server.run('res')?.history.length === 3, 'W&B holds the first 3 epochs');
    first.child.kill('SIGKILL');
    await first;
    const r = await trackedRun(exp, 'res', { ...env, DSI_TEST_SCHEDULE: 'indexing:4-6,retrieval:1-4', DSI_TEST_RESUMED: '1' });
    assert.equal(r.code, 0, r.output);
    assert.equal(r.output, `dsi: W&B run: ${server.url}/fake-entity/dsi/runs/res\n`);
    const run = server.run('res')!;
    assert.deepEqual(stepsAndEpochs(run.history), FULL_SCHEDULE, 'epochs 1-3 kept, 4-6 and phase 2 after them');
    assert.ok(run.complete, 'run.complete');
    assert.equal(run.summary['retrieval/val_loss'], 0.75);
  } finally {
    await server.close();
  }
});

test('a branch (--from) sends the phase-1 history it was seeded with, online and through sync', T, async () => {
  const exp = tmp();
  const source = await trackedRun(exp, 'src', {}, ['tracking.wandb=disabled']);
  assert.equal(source.code, 0, source.output);
  const server = await startFakeWandb();
  const env = { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: server.url };
  const branch = { DSI_TEST_BRANCHED_FROM: 'src', DSI_TEST_SCHEDULE: 'retrieval:1-4' };
  try {
    seedBranchStore(exp, 'src', 'br-online');
    const online = await trackedRun(exp, 'br-online', { ...env, ...branch });
    assert.equal(online.code, 0, online.output);
    assert.deepEqual(stepsAndEpochs(server.run('br-online')!.history), FULL_SCHEDULE);

    seedBranchStore(exp, 'src', 'br-offline');
    const offline = await trackedRun(exp, 'br-offline', branch, ['tracking.wandb=offline']);
    assert.equal(offline.code, 0, offline.output);
    const synced = await syncRun(exp, 'br-offline', env, 3000);
    assert.equal(synced.rows, 10);
    assert.deepEqual(stepsAndEpochs(server.run('br-offline')!.history), FULL_SCHEDULE);

    // An offline record from an older dsi holds only the branch's own steps (6-9): sync takes the
    // history from metrics.jsonl rather than putting those rows on lines 0-3.
    const historyFile = join(exp, 'br-offline', 'wandb-offline', 'history.jsonl');
    writeFileSync(historyFile, readFileSync(historyFile, 'utf8').split('\n').slice(6).join('\n'));
    server.runs.clear();
    assert.equal((await syncRun(exp, 'br-offline', env, 3000)).rows, 10);
    assert.deepEqual(stepsAndEpochs(server.run('br-offline')!.history), FULL_SCHEDULE);
  } finally {
    await server.close();
  }
});

test('sync of a run with no offline record goes to the project, entity and server in its run.json', T, async () => {
  const server = await startFakeWandb();
  const exp = tmp();
  const realFetch = globalThis.fetch;
  // Only the fake server may be reached, whatever the code under test picks.
  globalThis.fetch = (input, init) => (String(input instanceof Request ? input.url : input).startsWith(server.url) ? realFetch(input, init) : Promise.reject(new TypeError(`test: no network to ${String(input)}`)));
  try {
    const r = await trackedRun(exp, 'rec', { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: server.url, WANDB_PROJECT: 'audit-proj' });
    assert.equal(r.code, 0, r.output);
    server.runs.clear();
    const result = await syncRun(exp, 'rec', { WANDB_API_KEY: API_KEY }, 3000);
    assert.equal(result.identity.project, 'audit-proj');
    const run = server.run('rec')!;
    assert.equal(run.project, 'audit-proj');
    assert.equal(run.entity, 'fake-entity');
    assert.equal(run.history.length, 10);
    const record = JSON.parse(readFileSync(join(exp, 'rec', 'run.json'), 'utf8'));
    assert.equal(record.wandb.project, 'audit-proj', 'the record keeps its project');
    assert.equal(record.wandb.base_url, server.url);
    assert.equal(record.wandb.mode, 'online');
    assert.ok(record.wandb.synced_at, 'record.wandb.synced_at');

    // Set explicitly, the environment wins.
    await syncRun(exp, 'rec', { WANDB_API_KEY: API_KEY, WANDB_PROJECT: 'moved', WANDB_ENTITY: 'team' }, 3000);
    assert.equal(server.runs.get('team/moved/rec')?.history.length, 10);
  } finally {
    globalThis.fetch = realFetch;
    await server.close();
  }
});

test('W&B dying mid-run: exactly one warning, training finishes, the local store is complete', T, async () => {
  const server = await startFakeWandb();
  const exp = tmp();
  try {
    const timing = join(exp, 'timing.json');
    const running = trackedRun(exp, 'dies', { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: server.url, DSI_TEST_EPOCH_MS: '300', DSI_TEST_TIMING_FILE: timing });
    await waitFor(() => (server.run('dies')?.history.length ?? 0) >= 1, 'the first epoch reaches W&B');
    await server.close();
    assert.equal(server.openSockets(), 0, 'close() left no socket open');
    const r = await running;
    assert.equal(r.code, 0, r.output);
    const [url, ...warnings] = r.output.trim().split('\n');
    assert.match(url, /^dsi: W&B run: http:\/\/127\.0\.0\.1:\d+\/fake-entity\/dsi\/runs\/dies$/);
    assert.equal(warnings.length, 1, `exactly one warning, got:\n${r.output}`);
    assert.match(warnings[0], /W&B/);
    assert.match(warnings[0], /dsi runs sync dies/);
    const t = trackerTiming(timing);
    assert.ok(t.epochs_ms < 5_000 && t.finish_ms < 5_000, `training waited on the dead server: ${JSON.stringify(t)}`);
    const dir = join(exp, 'dies');
    assert.equal(readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 10, 'local store complete');
    assert.ok(existsSync(join(dir, 'plots', 'retrieval-curves.png')), 'existsSync(join(dir, \'plots\', \'retrieval-curves.png\'))');
    assert.ok(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).finished, 'JSON.parse(readFileSync(join(dir, \'run.json\'), \'utf8\')).finished');
    assert.equal(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'))['eval/ia@1'], 0.95);
    assertNoSecret('the output', r.output);
  } finally {
    await server.close();
  }
});

test('eval re-run: the summary is replaced, so metrics the new eval does not produce are gone (locally and on W&B)', T, async () => {
  const server = await startFakeWandb();
  const exp = tmp();
  const env = { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: server.url };
  try {
    const r = await trackedRun(exp, 'ev', env);
    assert.equal(r.code, 0, r.output);
    // `dsi eval` reports from its own process, as evaluate.ts does
    const quiet = { env, warn: (m: string) => assert.fail(m), timeoutMs: 5000 };
    await createTracker('ev', exp, quiet).logSummary({ 'eval/bovw/MAP@10': 0.2, 'eval/zero-shot/MAP@10': 0.3, 'eval/protocol': 'both' });
    await createTracker('ev', exp, quiet).logSummary({ 'eval/zero-shot/MAP@10': 0.35, 'eval/protocol': 'reference' });
    const local = JSON.parse(readFileSync(join(exp, 'ev', 'summary.json'), 'utf8'));
    assert.deepEqual(local, { 'eval/zero-shot/MAP@10': 0.35, 'eval/protocol': 'reference' });
    const summary = server.run('ev')!.summary;
    assert.equal(summary['eval/zero-shot/MAP@10'], 0.35);
    assert.ok(!('eval/bovw/MAP@10' in summary), 'the stale BoVW key is gone from W&B');
    assert.ok(!('eval/ia@1' in summary), 'the training-time eval keys are gone too');
    assert.equal(summary['retrieval/val_loss'], 0.75, 'the curves\' last values stay');
    assert.equal((summary['indexing/curves'] as { _type: string })._type, 'image-file', 'the images stay');
  } finally {
    await server.close();
  }
});

test('a contact sheet made for a run is logged to its W&B run as an image', T, async () => {
  const server = await startFakeWandb();
  const exp = tmp();
  const env = { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: server.url };
  try {
    assert.equal((await trackedRun(exp, 'cs', env)).code, 0);
    const sheet = readFileSync(join(exp, 'cs', 'plots', 'retrieval-curves.png')); // any PNG will do
    await logRunImage('cs', 'search/contact_sheet', sheet, { experimentsDir: exp, env, warn: (m) => assert.fail(m), timeoutMs: 5000 });
    const run = server.run('cs')!;
    const ref = run.summary['search/contact_sheet'] as { _type: string; path: string; sha256: string };
    assert.equal(ref._type, 'image-file');
    assert.match(ref.path, /^media\/images\/search_contact_sheet_summary_[0-9a-f]{20}\.png$/);
    assert.deepEqual(run.files.get(ref.path), sheet);
    assert.equal(run.summary['eval/ia@1'], 0.95, 'the rest of the summary is kept');
    assert.ok(existsSync(join(exp, 'cs', 'plots', 'search-contact_sheet.png')), 'existsSync(join(exp, \'cs\', \'plots\', \'search-contact_sheet.png\'))');

    // Offline, the sheet waits in the run folder for `dsi runs sync`.
    assert.equal((await trackedRun(exp, 'cs-off', {}, ['tracking.wandb=offline'])).code, 0);
    await logRunImage('cs-off', 'search/contact_sheet', sheet, { experimentsDir: exp, env: {}, warn: (m) => assert.fail(m) });
    await syncRun(exp, 'cs-off', env, 5000);
    const synced = server.run('cs-off')!;
    assert.deepEqual(synced.files.get((synced.summary['search/contact_sheet'] as { path: string }).path), sheet);
    assertNoSecret('experiments/', allFileContents(exp));
  } finally {
    await server.close();
  }
});
