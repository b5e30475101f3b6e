import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { AsyncBuffer } from 'hyparquet';
import { UserError } from '../../../runtime/errors.ts';
import { downloadFile } from '../../download.ts';

/**
 * A parquet file on the Hub read lazily through HTTP Range requests, as hyparquet asks for byte
 * ranges: the footer, a column chunk, a row group's image column. Ranges worth keeping (the footer,
 * image row groups) are stored under `<rangeDir>/<start>-<end>`; the file is pinned to a commit, so
 * a stored range never goes stale. A range in flight is a `.part` that the next run resumes.
 */
export interface RemoteFile {
  url: string;
  size: number;
  /** Where stored ranges live (one folder per file). */
  rangeDir: string;
  headers: Record<string, string>;
  /** Use stored ranges only (HF_HUB_OFFLINE=1). */
  offline: boolean;
  /** For messages. */
  name: string;
}

export interface RemoteBuffer {
  /** Ranges read through this view are stored (footer, image row groups). */
  stored: AsyncBuffer;
  /** Ranges read through this view are not (the label column: many tiny chunks, kept as labels.json instead). */
  transient: AsyncBuffer;
}

/** Bytes moved over the network by this process (for the "fetched X of Y" note and the tests). */
export const transferStats = { bytes: 0, requests: 0 };

/** At most this many range requests at once, over all files: hyparquet asks for all chunks of a read together. */
const MAX_IN_FLIGHT = 6;
let inFlight = 0;
const waiting: (() => void)[] = [];
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (inFlight >= MAX_IN_FLIGHT) await new Promise<void>((r) => waiting.push(r));
  inFlight++;
  try {
    return await fn();
  } finally {
    inFlight--;
    waiting.shift()?.();
  }
}

export async function openRemoteBuffer(file: RemoteFile): Promise<RemoteBuffer> {
  await mkdir(file.rangeDir, { recursive: true });
  const stored: { start: number; end: number }[] = [];
  for (const name of await readdir(file.rangeDir)) {
    const m = /^(\d+)-(\d+)$/.exec(name);
    if (m) stored.push({ start: Number(m[1]), end: Number(m[2]) });
  }
  const pending = new Map<string, Promise<ArrayBuffer>>();

  const fetchRange = async (start: number, end: number, persist: boolean): Promise<ArrayBuffer> => {
    const cover = stored.find((r) => r.start <= start && r.end >= end);
    if (cover) {
      const bytes = await readFile(join(file.rangeDir, `${cover.start}-${cover.end}`));
      return toArrayBuffer(bytes.subarray(start - cover.start, end - cover.start));
    }
    if (file.offline) {
      throw new UserError(
        `HF_HUB_OFFLINE=1 but bytes ${start}-${end} of ${file.name} are not in the cache (${file.rangeDir}); ` +
          'run once online to fetch them',
      );
    }
    const dest = join(file.rangeDir, persist ? `${start}-${end}` : `.transient-${process.pid}-${start}-${end}`);
    await limited(() =>
      downloadFile(file.url, dest, { range: { start, end }, expectedSize: end - start, headers: file.headers, quiet: true, label: file.name }),
    );
    transferStats.bytes += end - start;
    transferStats.requests++;
    const bytes = await readFile(dest);
    if (persist) stored.push({ start, end });
    else await unlink(dest).catch(() => {});
    return toArrayBuffer(bytes);
  };

  const view = (persist: boolean): AsyncBuffer => ({
    byteLength: file.size,
    slice(start: number, end = file.size): Promise<ArrayBuffer> {
      end = Math.min(end, file.size);
      const key = `${start}-${end}`;
      let p = pending.get(key);
      if (!p) {
        p = fetchRange(start, end, persist).finally(() => pending.delete(key));
        pending.set(key, p);
      }
      return p;
    },
  });
  return { stored: view(true), transient: view(false) };
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
