/**
 * The exclusive claim on a run while it is written. Every writer of checkpoints/<run>/ (a fresh
 * run, a resume, a branch) goes through `lockRun`, so two `dsi train` processes never interleave
 * one run's checkpoints and metrics. The lock is `checkpoints/<run>/.lock`, created with O_EXCL
 * and holding the owner's pid and host; a lock whose process is gone (kill -9, a crash, a power
 * cut) is taken over with a note.
 */
import { hostname } from 'node:os';
import { existsSync, readFileSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UserError } from '../runtime/errors.ts';
import { logToStderr, type Log } from '../runtime/log.ts';
import { processAlive } from '../runtime/process.ts';

export interface RunLock {
  release(): Promise<void>;
}

interface Holder {
  pid: number;
  host: string;
  started: string;
}

const LOCK_FILE = '.lock';

function readHolder(runDir: string): Holder | null {
  try {
    return JSON.parse(readFileSync(join(runDir, LOCK_FILE), 'utf8')) as Holder;
  } catch {
    return null; // missing, or torn by a crash between create and write: not a live holder
  }
}

/** The live process writing this run, or null. A holder on another host cannot be checked: it counts as live. */
export function runHolder(runDir: string): Holder | null {
  const h = readHolder(runDir);
  if (!h) return null;
  if (h.host !== hostname()) return h;
  // Our own pid: another writer in this process (a library caller), equally live.
  return h.pid === process.pid || processAlive(h.pid) ? h : null;
}

function heldError(runDir: string, h: Holder): UserError {
  const where = h.host === hostname() ? `pid ${h.pid}` : `pid ${h.pid} on ${h.host}`;
  return new UserError(
    `run "${basename(runDir)}" is being written by another dsi process (${where}, since ${h.started}): ` +
      `wait for it to finish or stop it (kill ${h.pid}), or pick another --run`,
  );
}

/** Refuses early (before loading checkpoints) when another live process holds the run. */
export function assertNotLocked(runDir: string): void {
  const h = runHolder(runDir);
  if (h) throw heldError(runDir, h);
}

export async function lockRun(runDir: string, log: Log = logToStderr): Promise<RunLock> {
  await mkdir(runDir, { recursive: true });
  const path = join(runDir, LOCK_FILE);
  const me: Holder = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(JSON.stringify(me) + '\n');
      } finally {
        await fh.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const h = runHolder(runDir);
      if (h || attempt > 0) throw heldError(runDir, h ?? readHolder(runDir) ?? { pid: 0, host: '?', started: '?' });
      const stale = readHolder(runDir);
      log(`note: run "${basename(runDir)}" was locked by pid ${stale?.pid ?? '?'}, which is no longer running; taking the lock over`);
      await rm(path, { force: true });
    }
  }
  removeLeftoverTemps(runDir, log);
  // Ctrl-C twice or an uncaught error exits without the finally below: drop the lock anyway.
  const onExit = () => releaseSync(path);
  process.on('exit', onExit);
  return {
    release: async () => {
      process.off('exit', onExit);
      releaseSync(path);
    },
  };
}

function releaseSync(path: string): void {
  const h = readHolder(join(path, '..'));
  if (h && h.pid === process.pid && h.host === hostname()) {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
}

/**
 * Half-written checkpoint folders (`.tmp-<kind>-<pid>-<ms>`) of processes that died mid-write,
 * e.g. on a full disk: nobody else can be writing them while we hold the lock.
 */
function removeLeftoverTemps(runDir: string, log: Log): void {
  if (!existsSync(runDir)) return;
  for (const name of readdirSync(runDir)) {
    const m = /^\.tmp-[a-z]+-(\d+)-\d+$/.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    rmSync(join(runDir, name), { recursive: true, force: true });
    log(`note: removed ${name}, a checkpoint left half-written by an earlier process`);
  }
}
