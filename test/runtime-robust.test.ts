import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describeUnexpected } from '../src/runtime/crash.ts';
import { busyMachineNote, watchMachineLoad } from '../src/runtime/machine-load.ts';
import { cacheRoot, checkpointsRoot, experimentsRoot } from '../src/runtime/paths.ts';
import { stopOnSignals } from '../src/runtime/signals.ts';

test('outputs go under the working directory, or DSI_HOME (what --root sets), never the package', () => {
  const saved = { home: process.env.DSI_HOME, cache: process.env.DSI_CACHE_DIR };
  try {
    delete process.env.DSI_HOME;
    delete process.env.DSI_CACHE_DIR;
    assert.equal(checkpointsRoot(), join(process.cwd(), 'checkpoints'));
    process.env.DSI_HOME = '/tmp/dsi-home-x';
    assert.equal(checkpointsRoot(), '/tmp/dsi-home-x/checkpoints');
    assert.equal(experimentsRoot(), '/tmp/dsi-home-x/experiments');
    assert.equal(cacheRoot(), '/tmp/dsi-home-x/data/cache');
    process.env.DSI_CACHE_DIR = 'elsewhere';
    assert.equal(cacheRoot(), resolve('elsewhere'));
  } finally {
    for (const [k, v] of [['DSI_HOME', saved.home], ['DSI_CACHE_DIR', saved.cache]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

test('a full disk is one clear line naming the file and the way out', () => {
  const err = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: 'ENOSPC', syscall: 'write', path: '/x/checkpoints/r/.tmp-last-1-2/weights.bin' });
  const line = describeUnexpected(err);
  assert.equal(line.includes('\n'), false);
  assert.match(line, /^no space left on the device \[ENOSPC\] \(write \/x\/checkpoints\/r\/\.tmp-last-1-2\/weights\.bin\); free some space, or .*--root DIR/);
  // A message carrying a wall of minified source is cut to its first line.
  assert.equal(describeUnexpected(new Error(`boom\n${'x'.repeat(40_000)}`)), 'unexpected error: boom');
});

test('SIGTERM and SIGHUP stop like Ctrl-C; a second signal quits at once and gives the cursor back', (t) => {
  const writes: string[] = [];
  const exits: number[] = [];
  const realWrite = process.stderr.write.bind(process.stderr);
  const realExit = process.exit;
  const realTty = process.stderr.isTTY;
  t.after(() => {
    process.stderr.write = realWrite;
    process.exit = realExit;
    process.stderr.isTTY = realTty;
  });
  process.stderr.write = ((s: string) => (writes.push(String(s)), true)) as typeof process.stderr.write;
  process.exit = ((code: number) => void exits.push(code)) as typeof process.exit;
  process.stderr.isTTY = true;
  for (const [sig, code] of [['SIGTERM', 143], ['SIGHUP', 129], ['SIGINT', 130]] as const) {
    writes.length = 0;
    exits.length = 0;
    const stop = stopOnSignals((s) => `stopping on ${s}`);
    process.emit(sig);
    assert.equal(stop.signal.aborted, true);
    assert.equal(stop.received(), sig);
    assert.equal(stop.exitCode(), code);
    assert.ok(writes.some((w) => w.includes(`stopping on ${sig}`)), 'writes.some((w) => w.includes(`stopping on ${sig}`))');
    assert.deepEqual(exits, []);
    process.emit(sig);
    assert.deepEqual(exits, [code]);
    assert.ok(writes.some((w) => w.includes('\u001B[?25h')), 'cursor shown again');
    stop.dispose();
  }
});

test('timings taken on a busy machine say so: the CPU other processes used while we timed, not our own', async () => {
  // Injected clocks: 2 cores for 10 s; the machine was busy 13 s of CPU, 8 of them ours -> others 5 of 20.
  const samples = [
    { machineBusy: 1000, cores: 2, own: 500, now: 0 },
    { machineBusy: 14000, cores: 2, own: 8500, now: 10000 },
  ];
  const load = watchMachineLoad(() => samples.shift()!).stop();
  assert.deepEqual(load, { cores: 2, seconds: 10, otherCpuShare: 0.25 });
  assert.match(busyMachineNote(load, 'the ms/query timings') ?? '', /other processes used 25% of the machine's 2 cores while this ran: the ms\/query timings are inflated/);
  assert.equal(busyMachineNote({ ...load, otherCpuShare: 0.1 }, 'x'), null, 'background noise is not "busy"');

  // For real: a child process burning a core for a second is counted as others' work.
  const watch = watchMachineLoad();
  const burn = 'const end = Date.now() + 1000; while (Date.now() < end);';
  await new Promise<void>((done, fail) => execFile(process.execPath, ['-e', burn], (err) => (err ? fail(err) : done())));
  const real = watch.stop();
  const othersSeconds = real.otherCpuShare * real.cores * real.seconds;
  assert.ok(othersSeconds >= 0.5, `the child's ~1 s of CPU shows as others' work (${othersSeconds.toFixed(2)} s: ${JSON.stringify(real)})`);
});
