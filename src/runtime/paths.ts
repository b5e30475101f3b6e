/**
 * Where dsi writes: checkpoints/, experiments/ and data/cache/ under one output root, which is
 * the working directory, or DSI_HOME when set (the global `--root DIR` sets it, like Lightning's
 * default_root_dir). The installed package (configs/, data/samples/) is read, never written.
 * DSI_CACHE_DIR moves the data cache alone (a bigger disk).
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from './errors.ts';
import { shownPath } from './log.ts';

/** Read on every call, so `--root` (which sets DSI_HOME before a command runs) is seen everywhere. */
export function outputRoot(): string {
  return resolve(process.env.DSI_HOME || process.cwd());
}

export function checkpointsRoot(): string {
  return join(outputRoot(), 'checkpoints');
}

export function experimentsRoot(): string {
  return join(outputRoot(), 'experiments');
}

export function cacheRoot(): string {
  return process.env.DSI_CACHE_DIR ? resolve(process.env.DSI_CACHE_DIR) : join(outputRoot(), 'data', 'cache');
}

/**
 * Checked before any work: a command that would train for an hour and then fail to write its
 * first checkpoint stops now instead, naming the folder. Creates the folder when missing.
 */
export function assertWritable(dir: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    const probe = join(dir, `.dsi-write-test-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOTDIR' || err.code === 'EEXIST' ? 'a file (or something below it) is in the way of the folder'
      : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied'
      : err.code === 'ENOSPC' ? 'no space left on the device'
      : err.code === 'EROFS' ? 'read-only file system'
      : (err.code ?? err.message);
    throw new UserError(`cannot write the ${what} folder ${shownPath(dir)}: ${why}; free it or choose another output root with --root DIR (or DSI_HOME)`);
  }
}
