import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../src/config/load.ts';
import { loadPlan, selectRows } from '../src/grid/plan.ts';
import { rowCommands, rowState, runGrid, type GridDirs } from '../src/grid/runner.ts';

const run = promisify(execFile);

/** A model small enough that a row (train + eval) takes seconds; 24 sample photos of 2 classes. */
const TINY = [
  'data.num_images=24',
  'data.min_images_per_class=12',
  'data.image_size=32',
  'model.embed_dim=16',
  'model.ffn_dim=32',
  'model.num_heads=2',
  'model.encoder_layers=1',
  'model.decoder_layers=1',
  'train.indexing_epochs=3',
  'train.retrieval_epochs=1',
  'train.batch_size=8',
  'train.workers=1',
  'eval.recall_k=10',
];

async function writePlan(dir: string): Promise<string> {
  const plan = join(dir, 'plan.yaml');
  await writeFile(
    plan,
    [
      'vars: { SAMPLES: data/samples }',
      'defaults:',
      `  set: [${TINY.join(', ')}]`,
      '  eval: [--protocol, both]',
      '  bovw: false',
      'rows:',
      '  - name: tiny-clustered',
      '    config: quickstart.yaml',
      '    set: ["data.root=${SAMPLES}", data.id_scheme=clustered]',
      '  - name: tiny-random',
      '    config: quickstart.yaml',
      '    set: ["data.root=${SAMPLES}", data.id_scheme=random]',
      '    queries: ${SAMPLES}',
      '    queries_per_class: 2',
    ].join('\n'),
  );
  return plan;
}

test('plan: variables, defaults, row selection, the commands of each state', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dsi-grid-plan-'));
  try {
    const plan = await writePlan(dir);
    const rows = loadPlan(plan, { SAMPLES: '/photos' }, {});
    assert.deepEqual(rows.map((r) => r.name), ['tiny-clustered', 'tiny-random']);
    assert.deepEqual(rows[1].set.slice(-2), ['data.root=/photos', 'data.id_scheme=random']);
    assert.equal(rows[0].set.length, TINY.length + 2);
    assert.equal(loadPlan(plan, {}, { SAMPLES: '/env' })[0].set.at(-2), 'data.root=/env');
    assert.equal(loadPlan(plan, {}, {})[0].set.at(-2), 'data.root=data/samples');
    assert.deepEqual(selectRows(rows, ['*-random']).map((r) => r.name), ['tiny-random']);
    assert.throws(() => selectRows(rows, ['nope']), /no row of the plan matches nope/);

    const row = { ...rows[0], bovw: true, set: ['a.b=1'] };
    assert.deepEqual(rowCommands(row, 'todo'), [
      { step: 'train', args: ['train', '--config', 'quickstart.yaml', '--run', 'tiny-clustered', '--set', 'a.b=1'] },
      { step: 'bovw', args: ['bovw', '--config', 'quickstart.yaml', '--set', 'a.b=1'] },
      { step: 'eval', args: ['eval', '--run', 'tiny-clustered', '--protocol', 'both'] },
    ]);
    assert.deepEqual(rowCommands(row, 'started')[0].args, ['train', '--resume', '--run', 'tiny-clustered']);
    assert.deepEqual(rowCommands(row, 'done'), []);
    // Out-of-corpus queries are evaluated before eval.json, the file that marks a row done.
    assert.deepEqual(rows[1].outOfCorpus, { dir: '/photos', perClass: 2 });
    assert.deepEqual(rowCommands(rows[1], 'todo').slice(-2).map((s) => s.args), [
      ['eval', '--run', 'tiny-random', '--protocol', 'full', '--queries', '/photos', '--queries-per-class', '2'],
      ['eval', '--run', 'tiny-random', '--protocol', 'both'],
    ]);

    // The shipped plan parses, and its configs exist (but for the dsi recipe's placeholder).
    const shipped = loadPlan(join(PROJECT_ROOT, 'configs', 'grid.yaml'), {}, {});
    assert.ok(shipped.length >= 13, 'shipped.length >= 13');
    for (const r of shipped) {
      if (r.config !== 'imagenette-dsi.yaml') assert.ok(existsSync(join(PROJECT_ROOT, 'configs', r.config)), r.config);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('runner: an interrupted row resumes, a fresh row trains, a finished grid is skipped', { timeout: 180_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dsi-grid-'));
  const env = { DSI_HOME: dir, DSI_CACHE_DIR: join(dir, 'cache') };
  const experimentsDir = join(dir, 'experiments');
  const saved = { ...process.env };
  Object.assign(process.env, env);
  // Progress as a user's grid shows it: plain lines in the row logs.
  delete process.env.DSI_NO_PROGRESS;
  try {
    const rows = loadPlan(await writePlan(dir), {}, {});
    const dirs: GridDirs = { experiments: experimentsDir, checkpoints: join(dir, 'checkpoints'), logs: join(dir, 'experiments', 'grid') };
    // An interrupted grid: the first row's training stopped after one epoch.
    const dsi = join(PROJECT_ROOT, 'bin', 'dsi.js');
    const overrides = rows[0].set.flatMap((s) => ['--set', s]);
    await run(process.execPath, [dsi, 'train', '--config', 'quickstart.yaml', '--run', 'tiny-clustered', ...overrides, '--stop-after-epochs', '1'], { cwd: PROJECT_ROOT, env: process.env });
    assert.deepEqual(rows.map((r) => rowState(r, dirs)), ['started', 'todo']);

    const lines: string[] = [];
    const first = await runGrid(rows, { dirs, say: (l) => lines.push(l) });
    assert.deepEqual(first, { done: ['tiny-clustered', 'tiny-random'], skipped: [], failed: [], stale: [], interrupted: false }, lines.join('\n'));
    assert.deepEqual(rows.map((r) => rowState(r, dirs)), ['done', 'done']);
    const logA = await readFile(join(dirs.logs, 'tiny-clustered.log'), 'utf8');
    assert.match(logA, /dsi train --resume --run tiny-clustered\n/);
    assert.match(logA, /resuming run "tiny-clustered"/);
    assert.match(logA, /dsi eval --run tiny-clustered --protocol both/);
    const logB = await readFile(join(dirs.logs, 'tiny-random.log'), 'utf8');
    assert.match(logB, /dsi train --config quickstart.yaml --run tiny-random --set data.num_images=24/);
    // A row's log says where a long run is: a line per training epoch, one per finished step.
    assert.match(logB, /\nindexing epoch 1\/\d+: loss \d/);
    assert.match(logB, /\nSIFT: \d+ img in [\d.]+ s/);
    const steps = (await readFile(join(dirs.logs, 'steps.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(steps.map((s) => `${s.row}/${s.step}/${s.exit}`), ['tiny-clustered/train/0', 'tiny-clustered/eval/0', 'tiny-random/train/0', 'tiny-random/eval-out-of-corpus/0', 'tiny-random/eval/0']);
    const ooc = (await readdir(join(experimentsDir, 'tiny-random'))).filter((f) => /^eval-queries-samples-2pc-[0-9a-f]{6}\.json$/.test(f));
    assert.equal(ooc.length, 1, 'the out-of-corpus report is written beside eval.json');
    const oocReport = JSON.parse(await readFile(join(experimentsDir, 'tiny-random', ooc[0]), 'utf8'));
    assert.ok(oocReport.query_set.count > 0 && oocReport.query_set.in_corpus >= 0, 'oocReport.query_set.count > 0 && oocReport.query_set.in_corpus >= 0');
    const report = JSON.parse(await readFile(join(experimentsDir, 'tiny-random', 'eval.json'), 'utf8'));
    assert.equal(report.corpus.id_scheme, 'random');

    // Again: nothing to do, nothing started.
    const again = await runGrid(rows, { dirs, say: () => {} });
    assert.deepEqual(again.skipped, ['tiny-clustered', 'tiny-random']);
    assert.equal((await readFile(join(dirs.logs, 'steps.jsonl'), 'utf8')).trim().split('\n').length, 5);
    assert.ok(!existsSync(join(dirs.logs, 'runner.pid')), 'the lock is released');

    // The plan changes a setting of a finished row: it is stale, not done, and is not run silently.
    const changed = rows.map((r) => (r.name === 'tiny-clustered' ? { ...r, set: [...r.set, 'train.retrieval_epochs=2'] } : r));
    assert.deepEqual(changed.map((r) => rowState(r, dirs)), ['stale', 'done']);
    const staleLines: string[] = [];
    const skippedStale = await runGrid(changed, { dirs, say: (l) => staleLines.push(l) });
    assert.deepEqual(skippedStale.stale, ['tiny-clustered']);
    assert.match(staleLines.join('\n'), /tiny-clustered: STALE, skipped: .*train\.retrieval_epochs: 1 -> 2/);
    // --rerun-stale keeps the old run under .stale/ and runs the row under the new settings.
    const rerun = await runGrid(changed, { dirs, say: () => {}, rerunStale: true });
    assert.deepEqual(rerun.done, ['tiny-clustered']);
    assert.deepEqual(changed.map((r) => rowState(r, dirs)), ['done', 'done']);
    const setAside = await readdir(join(experimentsDir, '.stale'));
    assert.equal(setAside.length, 1);
    assert.ok(existsSync(join(experimentsDir, '.stale', setAside[0], 'eval.json')), 'the old eval report is kept');
    assert.ok(existsSync(join(dir, 'checkpoints', '.stale', setAside[0])), 'and its checkpoints');
  } finally {
    process.env = saved;
    await rm(dir, { recursive: true, force: true });
  }
});

test('a row run again from scratch reports the wall time of its last attempt only; resumed parts add up', async () => {
  const { rowWallTimes } = await import('../src/grid/results.ts');
  const dir = await mkdtemp(join(tmpdir(), 'dsi-walltime-'));
  const row = 'r';
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(dir, row));
  const step = (name: string, exit: number, seconds: number) => JSON.stringify({ row, step: name, exit, seconds, at: '2026-01-01T00:00:00Z' });
  const lines = [
    // first attempt: finished (later set aside as stale)
    step('train', 0, 1000), step('bovw', 0, 30), step('eval', 0, 50),
    // second attempt: interrupted once (130), resumed, a failed eval (1) then a good one
    step('train', 130, 400), step('train', 0, 600), step('bovw', 0, 5), step('eval', 1, 2), step('eval', 0, 25),
  ];
  await writeFile(join(dir, row, 'steps.jsonl'), lines.join('\n') + '\n');
  assert.deepEqual(rowWallTimes(dir, row), { train: 1000, bovw: 5, eval: 25 });
  await rm(dir, { recursive: true });
});

test('a step whose runner was killed outright is recorded by the next runner, to its last heartbeat, and counts in the row\'s time', { timeout: 60_000 }, async () => {
  const { rowWallTimes } = await import('../src/grid/results.ts');
  const dir = await mkdtemp(join(tmpdir(), 'dsi-grid-kill-'));
  try {
    const logs = join(dir, 'grid');
    await mkdir(logs, { recursive: true });
    // A runner in the middle of a train step, then SIGKILL: no exit is ever seen.
    const code = `import { startStep } from ${JSON.stringify(join(PROJECT_ROOT, 'src', 'grid', 'step-record.ts'))}; startStep(${JSON.stringify(logs)}, 'r', 'train'); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: PROJECT_ROOT, stdio: 'ignore' });
    const current = join(logs, 'current-step.json');
    for (let i = 0; i < 200 && !existsSync(current); i++) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const beat = JSON.parse(await readFile(current, 'utf8'));
    assert.deepEqual([beat.row, beat.step], ['r', 'train']);
    // Say its last heartbeat came 600 s after it started.
    beat.started = new Date(Date.parse(beat.alive) - 600_000).toISOString();
    await writeFile(current, JSON.stringify(beat));

    const said: string[] = [];
    await runGrid([], { dirs: { experiments: join(dir, 'experiments'), checkpoints: join(dir, 'checkpoints'), logs }, say: (l) => said.push(l) });
    assert.ok(!existsSync(current), 'the lost step is recorded once: current-step.json is removed');
    assert.match(said.join('\n'), /r: its train step was killed \(no exit seen\); recorded 600 s/);
    const steps = (await readFile(join(logs, 'steps.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(steps.map((x) => [x.row, x.step, x.exit, x.seconds, x.lost]), [['r', 'train', 137, 600, true]]);

    // The resumed part adds to it in the row's wall time.
    await mkdir(join(dir, 'results', 'r'), { recursive: true });
    const resumed = { row: 'r', step: 'train', exit: 0, seconds: 300, at: new Date().toISOString() };
    await writeFile(join(dir, 'results', 'r', 'steps.jsonl'), [...steps, resumed].map((x) => JSON.stringify(x)).join('\n') + '\n');
    assert.deepEqual(rowWallTimes(join(dir, 'results'), 'r'), { train: 900 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('dsi grid --list tells a fresh clone which rows already have a committed result in experiments/results', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dsi-grid-list-'));
  try {
    const plan = await writePlan(dir);
    await mkdir(join(dir, 'experiments', 'results', 'tiny-random'), { recursive: true });
    await writeFile(join(dir, 'experiments', 'results', 'tiny-random', 'eval.json'), '{}');
    const { stdout } = await run(process.execPath, [join(PROJECT_ROOT, 'bin', 'dsi.js'), 'grid', '--plan', plan, '--list'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, DSI_HOME: dir, DSI_NO_PROGRESS: '1' },
    });
    const cells = (out: string, row: string) => out.split('\n').find((l) => l.startsWith(row + ' '))?.trim().split(/\s+/).slice(0, 4);
    assert.deepEqual(cells(stdout, 'tiny-clustered'), ['tiny-clustered', 'todo', '-', '-']);
    assert.deepEqual(cells(stdout, 'tiny-random'), ['tiny-random', 'todo', 'yes', '-']);

    // A runner's step heartbeat: which row it is on and for how long, or that it was killed there.
    const logs = join(dir, 'experiments', 'grid');
    await mkdir(logs, { recursive: true });
    const started = new Date(Date.now() - 47 * 60_000).toISOString();
    await writeFile(join(logs, 'current-step.json'), JSON.stringify({ row: 'tiny-random', step: 'train', started, alive: new Date().toISOString() }));
    const list = () => run(process.execPath, [join(PROJECT_ROOT, 'bin', 'dsi.js'), 'grid', '--plan', plan, '--list'], { cwd: PROJECT_ROOT, env: { ...process.env, DSI_HOME: dir } });
    const killed = (await list()).stdout;
    assert.deepEqual(cells(killed, 'tiny-random'), ['tiny-random', 'todo', 'yes', 'killed-in-train']);
    assert.match(killed, /no runner is alive; the same dsi grid command resumes tiny-random/);
    await writeFile(join(logs, 'runner.pid'), String(process.pid)); // this test process stands in for a live runner
    const live = cells((await list()).stdout, 'tiny-random')!;
    assert.match(live[3], /^train-for-47m\d\ds$/, 'the running step and how long it has run');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
