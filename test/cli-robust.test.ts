/**
 * The CLI from a user's folder: outputs land where the user works (or under --root / DSI_HOME),
 * a bare command reads the embedded default, and failures are one clear line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/config/load.ts';
import { SAMPLE_PHOTOS, sampleClasses } from './helpers/test-data.ts';
import { tempDir } from './train-fixtures.ts';

const BIN = join(PROJECT_ROOT, 'bin', 'dsi.js');
const baseEnv = () => {
  const env: NodeJS.ProcessEnv = { ...process.env, DSI_NO_PROGRESS: '1' };
  delete env.DSI_HOME;
  delete env.DSI_CACHE_DIR;
  return env;
};
function dsi(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: opts.env ?? baseEnv(), encoding: 'utf8', timeout: 120_000 });
}
/** A small corpus of the sample photos: 2 classes of 6, 32 px. */
const SMALL = ['--set', 'data.num_images=12', '--set', 'data.min_images_per_class=6', '--set', 'data.image_size=32'];

test('a bare `dsi data` from any folder reads configs/quickstart.yaml (saying so) and writes its cache under that folder, not the package', (t) => {
  const cwd = tempDir('cwd');
  t.after(cwd.cleanup);
  const r = dsi(['data', ...SMALL, '--json'], { cwd: cwd.path });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /no --config: using .*configs\/quickstart\.yaml \(the embedded default: data\/samples, offline/);
  const report = JSON.parse(r.stdout);
  assert.equal(report.cache_path, join(cwd.path, 'data', 'cache', report.hash));
  assert.ok(!existsSync(join(PROJECT_ROOT, 'data', 'cache', report.hash)), 'nothing written inside the package');
});

test('--root DIR (and DSI_HOME) put checkpoints/, experiments/ and data/cache/ under DIR', (t) => {
  const cwd = tempDir('cwd-root');
  t.after(cwd.cleanup);
  const root = join(cwd.path, 'out');
  const r = dsi(['data', '--config', 'quickstart.yaml', ...SMALL, '--json', '--root', root], { cwd: cwd.path });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).cache_path.startsWith(join(root, 'data', 'cache')), true);
  assert.ok(!existsSync(join(cwd.path, 'data')), '!existsSync(join(cwd.path, \'data\'))');
  const list = dsi(['runs', 'list', '--json'], { cwd: PROJECT_ROOT, env: { ...baseEnv(), DSI_HOME: root } });
  assert.equal(list.status, 0, list.stderr);
});

test('an output folder that cannot be written stops `dsi train` before any work, naming it', (t) => {
  const cwd = tempDir('cwd-ro');
  t.after(cwd.cleanup);
  writeFileSync(join(cwd.path, 'checkpoints'), 'a file where the folder should be');
  const r = dsi(['train', ...SMALL, '--run', 'x'], { cwd: cwd.path });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /cannot write the checkpoints folder checkpoints: a file .* is in the way/);
  assert.ok(!existsSync(join(cwd.path, 'data')), 'no corpus was built');
});

test('an unexpected error prints one line and where the full trace went (never a source dump)', (t) => {
  const cwd = tempDir('cwd-crash');
  t.after(cwd.cleanup);
  writeFileSync(join(cwd.path, 'store'), 'not a folder');
  const r = dsi(['runs', 'list', '--experiments', 'store'], { cwd: cwd.path });
  assert.equal(r.status, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0], /^dsi: a file is where a folder should be \[ENOTDIR\]/);
  const trace = /full trace: (\S+)/.exec(lines[1])?.[1];
  assert.ok(trace && existsSync(trace), r.stderr);
  assert.match(readFileSync(trace, 'utf8'), /ENOTDIR[\s\S]*at /);
  rmSync(trace);
});

test('`dsi config --keys | head -1` never fails with EPIPE', async () => {
  for (let i = 0; i < 4; i++) {
    const child = spawn(process.execPath, [BIN, 'config', '--keys'], { env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // Like `head -1`: read the first chunk, then close the pipe.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.doesNotMatch(stderr, /EPIPE|Error/);
    assert.equal(code, 0, stderr);
  }
});

test('dsi data lists the skipped files by name', (t) => {
  const dirs = tempDir('cwd-skip');
  t.after(dirs.cleanup);
  const root = join(dirs.path, 'photos');
  for (const cls of sampleClasses().slice(0, 2)) {
    mkdirSync(join(root, cls), { recursive: true });
    for (const f of readdirSync(join(SAMPLE_PHOTOS, cls)).sort().slice(0, 6)) copyFileSync(join(SAMPLE_PHOTOS, cls, f), join(root, cls, f));
  }
  writeFileSync(join(root, sampleClasses()[0], '00-broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0x00]));
  writeFileSync(join(root, sampleClasses()[1], '00-drawing.jpg'), '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>');
  const r = dsi(['data', '--config', 'quickstart.yaml', '--set', `data.root=${root}`, '--set', 'data.num_images=12', '--set', 'data.min_images_per_class=6', '--set', 'data.image_size=32'], { cwd: dirs.path });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /skipped files:\n.*00-broken\.jpg: not a readable image/);
  assert.match(r.stdout, /00-drawing\.jpg: not a raster photo: the file is SVG/);
});

test('SIGTERM stops `dsi train` like Ctrl-C: the step finishes, the run says how to resume', { timeout: 180_000 }, async (t) => {
  const dirs = tempDir('cwd-term');
  t.after(dirs.cleanup);
  const args = [
    BIN, 'train', ...SMALL, '--run', 'term', '--backend', 'wasm',
    '--set', 'model.patch_size=8', '--set', 'model.embed_dim=32', '--set', 'model.ffn_dim=64', '--set', 'model.encoder_layers=1', '--set', 'model.decoder_layers=1',
    '--set', 'train.indexing_epochs=100000', '--set', 'train.early_stop_patience=100000', '--set', 'train.workers=1', '--set', 'train.batch_size=4', '--set', 'tracking.wandb=disabled',
  ];
  // Progress on (not a terminal: one line per epoch), so the test sees the loop running.
  const env = { ...baseEnv(), DSI_NO_PROGRESS: '0' };
  const child = spawn(process.execPath, args, { cwd: dirs.path, env, stdio: ['ignore', 'pipe', 'pipe'] });
  // Never leave a 100000-epoch training behind if an assertion or the timeout ends the test early.
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const started = new Promise<void>((resolve) =>
    child.stderr.on('data', (d) => {
      stderr += d;
      // Epochs of 6 images: once one has been logged the loop is running.
      if (/indexing epoch 2\/100000/.test(stderr)) resolve();
    }),
  );
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await Promise.race([started, exited]);
  child.kill('SIGTERM');
  const code = await exited;
  assert.equal(code, 143, `${stderr}\n${stdout}`);
  assert.match(stderr, /SIGTERM received, stopping after this step/);
  assert.match(stdout, /run term \(wasm\): stopped\n/);
  assert.match(stdout, /\n\s+dsi train --resume --run term +# continue where it stopped/);
  assert.ok(existsSync(join(dirs.path, 'checkpoints', 'term', 'last', 'checkpoint.json')), 'existsSync(join(dirs.path, \'checkpoints\', \'term\', \'last\', \'checkpoint.json\'))');
  assert.ok(!existsSync(join(dirs.path, 'checkpoints', 'term', '.lock')), 'lock released');
});
