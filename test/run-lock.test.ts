/**
 * A run is never mixed: one writer at a time (the lock), stale locks of dead processes taken over,
 * half-written checkpoint folders swept, default run names that never collide.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertNotLocked, lockRun } from '../src/runs/lock.ts';
import { defaultRunName } from '../src/runs/resolve.ts';
import { launchTraining } from '../src/train/train.ts';
import { tempDir } from './train-fixtures.ts';

/** A pid that certainly belongs to no running process: one that just exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('a run is locked while written: a second writer is refused naming the holder pid; release frees it', async (t) => {
  const dirs = tempDir('lock');
  t.after(dirs.cleanup);
  const runDir = join(dirs.path, 'checkpoints', 'r1');
  const lock = await lockRun(runDir, () => {});
  await assert.rejects(lockRun(runDir, () => {}), new RegExp(`run "r1" is being written by another dsi process \\(pid ${process.pid}\\b`));
  assert.throws(() => assertNotLocked(runDir), /pid \d+/);
  await lock.release();
  assert.ok(!existsSync(join(runDir, '.lock')), '!existsSync(join(runDir, \'.lock\'))');
  const again = await lockRun(runDir, () => {});
  await again.release();
});

test('dsi train --run X / --resume X while X is being trained: refused before any work, naming the pid', async (t) => {
  const dirs = tempDir('lock-train');
  t.after(dirs.cleanup);
  const checkpointsDir = join(dirs.path, 'checkpoints');
  const common = { checkpointsDir, experimentsDir: join(dirs.path, 'experiments'), cacheRoot: join(dirs.path, 'cache'), log: () => {} };
  const lock = await lockRun(join(checkpointsDir, 'busy'), () => {}); // "another process" training run busy
  try {
    await assert.rejects(launchTraining({ ...common, configFile: 'quickstart.yaml', run: 'busy' }), /run "busy" is being written by another dsi process \(pid \d+/);
    await assert.rejects(launchTraining({ ...common, resume: 'busy' }), /run "busy" is being written by another dsi process \(pid \d+/);
    await assert.rejects(launchTraining({ ...common, resume: '', run: 'busy' }), /being written by another dsi process/);
  } finally {
    await lock.release();
  }
});

test('a stale lock of a dead process is taken over with a note, and its half-written checkpoint folders are removed', async (t) => {
  const dirs = tempDir('lock-stale');
  t.after(dirs.cleanup);
  const runDir = join(dirs.path, 'run');
  const pid = deadPid();
  mkdirSync(join(runDir, `.tmp-last-${pid}-1700000000000`), { recursive: true });
  writeFileSync(join(runDir, `.tmp-last-${pid}-1700000000000`, 'weights.bin'), Buffer.alloc(1024));
  mkdirSync(join(runDir, '.old-last')); // a crash between two renames: loadCheckpoint's fallback, kept
  writeFileSync(join(runDir, '.lock'), JSON.stringify({ pid, host: (await import('node:os')).hostname(), started: '2024-01-01T00:00:00Z' }));
  const notes: string[] = [];
  const lock = await lockRun(runDir, (l) => notes.push(l));
  assert.ok(notes.some((n) => n.includes(`locked by pid ${pid}, which is no longer running`)), notes.join('\n'));
  assert.ok(!existsSync(join(runDir, `.tmp-last-${pid}-1700000000000`)), 'leftover temp folder removed');
  assert.ok(existsSync(join(runDir, '.old-last')), 'existsSync(join(runDir, \'.old-last\'))');
  await lock.release();
});

test('default run names are unique within one second (a sweep in a shell loop never shares a folder)', () => {
  const now = new Date(2024, 0, 2, 3, 4, 5);
  const names = new Set(Array.from({ length: 200 }, () => defaultRunName('/x/configs/quickstart.yaml', now)));
  assert.ok(names.size >= 199, `only ${names.size} distinct names of 200`);
  for (const n of names) assert.match(n, /^quickstart-20240102-030405-[0-9a-f]{6}$/);
});
