/**
 * An error nobody planned for (a full disk, a file where a folder should be, a bug): the user
 * gets one line saying what failed, and the full trace goes to a file they can attach to a report.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FRIENDLY: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a file is where a folder should be',
  EISDIR: 'a folder is where a file should be',
  ENOENT: 'no such file or folder',
  EMFILE: 'too many open files',
};

/** The one line for an unexpected error, e.g. "dsi: no space left on the device (ENOSPC) writing /x/y; full trace: /tmp/...". */
export function describeUnexpected(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { dest?: string };
  const code = typeof err?.code === 'string' ? err.code : undefined;
  if (code && FRIENDLY[code]) {
    const target = err.path ? ` (${err.syscall ?? 'at'} ${err.path}${err.dest ? ` -> ${err.dest}` : ''})` : '';
    const hint = code === 'ENOSPC' || code === 'EDQUOT' ? '; free some space, or put outputs on another disk with --root DIR (or DSI_HOME)' : '';
    return `${FRIENDLY[code]} [${code}]${target}${hint}`;
  }
  const message = e instanceof Error ? e.message : String(e);
  // A message can itself carry a wall of text (a wasm abort with its module source): keep the first line.
  const first = message.split('\n')[0].slice(0, 300);
  return `unexpected error: ${first}`;
}

/** Writes the trace to a temp file and returns the line to print. */
export function reportUnexpected(e: unknown, argv: readonly string[] = []): string {
  const line = describeUnexpected(e);
  const file = join(tmpdir(), `dsi-error-${process.pid}-${Date.now()}.log`);
  const trace = e instanceof Error ? (e.stack ?? e.message) : String(e);
  try {
    writeFileSync(file, `dsi ${argv.join(' ')}\n${new Date().toISOString()}\n${trace}\n`);
    return `dsi: ${line}\n  full trace: ${file}`;
  } catch {
    return `dsi: ${line}\n  (the full trace could not be written to ${tmpdir()}: ${trace.split('\n').slice(0, 3).join(' | ').slice(0, 300)})`;
  }
}
