import { mkdir, open, rename, stat, truncate, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UserError } from '../runtime/errors.ts';
import { progressBar } from '../runtime/progress.ts';

export interface DownloadOptions {
  /** Progress bar label; defaults to the file name. */
  label?: string;
  /** Extra request headers (e.g. Authorization). Never logged: errors name only the URL. */
  headers?: Record<string, string>;
  /**
   * Give up when no response headers arrive within this many ms. Short on purpose: an offline
   * machine should hear "cannot reach host" in seconds, not after the OS's minutes-long timeout.
   */
  connectTimeoutMs?: number;
  /** Abort a transfer that receives no bytes for this long (a stalled connection). */
  idleTimeoutMs?: number;
  /** Automatic resumes after a transfer breaks mid-way (connection reset, stall). */
  retries?: number;
  /** When known (e.g. from the Hub's file info), the finished file must have exactly this size. */
  expectedSize?: number;
  /**
   * Fetch only bytes [start, end) of the remote file (an HTTP Range request); `dest` then holds
   * just those bytes, and a leftover `.part` resumes within the range.
   */
  range?: { start: number; end: number };
  /** No progress bar (many small transfers under a caller's own bar). */
  quiet?: boolean;
}

const DEFAULT_CONNECT_TIMEOUT_MS = Number(process.env.DSI_CONNECT_TIMEOUT_MS) || 10_000;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** Network failure before any HTTP status: the host is unreachable, refused, or too slow to answer. */
export class UnreachableError extends UserError {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`cannot reach ${safeUrl(url)} (${reason}); check the network or use a local copy`);
    this.name = 'UnreachableError';
  }
}

/** The server answered with an error status. */
export class HttpStatusError extends UserError {
  constructor(
    readonly url: string,
    readonly status: number,
    statusText: string,
  ) {
    super(`download of ${safeUrl(url)} failed: HTTP ${status} ${statusText}`.trimEnd());
    this.name = 'HttpStatusError';
  }
}

/**
 * Downloads `url` to `dest`: streams into `<dest>.part`, resumes an existing `.part` with an HTTP
 * Range request (restarting when the server ignores Range), shows a bytes/s + ETA bar, and renames
 * to `dest` only when complete, so `dest` existing always means "fully downloaded".
 */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const retries = opts.retries ?? 2;
  for (let attempt = 0; ; attempt++) {
    try {
      await transferOnce(url, part, opts);
      break;
    } catch (err) {
      // Retry only transfers that had started (the server answered): a host that cannot be
      // reached at all should fail fast, and HTTP errors will not fix themselves.
      if (!(err instanceof TransferBroken)) throw err;
      if (attempt >= retries) {
        throw new UserError(
          `download of ${safeUrl(url)} broke off (${err.message}); run the command again to resume from ${part}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
  }
  const size = await sizeOf(part);
  if (opts.expectedSize !== undefined && size !== opts.expectedSize) {
    await unlink(part).catch(() => {});
    throw new UserError(
      `download of ${safeUrl(url)} has ${size} bytes but ${opts.expectedSize} were expected; the partial file was removed, run again`,
    );
  }
  await rename(part, dest);
}

/** A transfer that started and then broke: worth resuming. */
class TransferBroken extends Error {}

async function transferOnce(url: string, part: string, opts: DownloadOptions): Promise<void> {
  const offset = await sizeOf(part);
  // identity: byte offsets for Range must refer to the stored bytes, not a gzip stream.
  const headers: Record<string, string> = { 'Accept-Encoding': 'identity', ...opts.headers };
  const range = opts.range;
  if (range) headers.Range = `bytes=${range.start + offset}-${range.end - 1}`;
  else if (offset > 0) headers.Range = `bytes=${offset}-`;

  const controller = new AbortController();
  const connectTimeout = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let timedOut = false;
  const connectTimer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, connectTimeout);
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: controller.signal, redirect: 'follow' });
  } catch (err) {
    throw new UnreachableError(url, timedOut ? `no answer within ${connectTimeout / 1000} s` : networkReason(err));
  } finally {
    clearTimeout(connectTimer);
  }

  let start = 0;
  if (range) {
    // A byte range of a larger file: only the very bytes asked for will do.
    const got = res.status === 206 ? contentRangeStart(res.headers.get('content-range')) : -1;
    if (got !== range.start + offset) {
      await res.body?.cancel();
      if (!res.ok) throw new HttpStatusError(url, res.status, res.statusText);
      throw new UserError(`${safeUrl(url)} does not serve byte ranges (HTTP ${res.status} to a Range request)`);
    }
    start = offset;
  } else if (res.status === 206) {
    start = contentRangeStart(res.headers.get('content-range'));
    if (start !== offset) {
      // A range we did not ask for: safer to start over than to splice mismatched bytes.
      await res.body?.cancel();
      await truncate(part, 0);
      return transferOnce(url, part, { ...opts });
    }
  } else if (res.status === 416 && offset > 0) {
    // The .part already holds every byte (or is bigger than the file): the total tells which.
    await res.body?.cancel();
    const total = contentRangeTotal(res.headers.get('content-range'));
    if (total === offset) return;
    await truncate(part, 0);
    return transferOnce(url, part, opts);
  } else if (res.ok) {
    start = 0; // 200: the server ignored Range (or there was nothing to resume); start over.
  } else {
    await res.body?.cancel();
    throw new HttpStatusError(url, res.status, res.statusText);
  }
  if (!res.body) throw new TransferBroken('empty response body');

  const length = Number(res.headers.get('content-length'));
  const total = Number.isFinite(length) && res.headers.has('content-length') ? start + length : undefined;
  await streamBody(res.body, part, start, total, controller, opts);
  const got = await sizeOf(part);
  if (total !== undefined && got < total) throw new TransferBroken(`got ${got} of ${total} bytes`);
}

async function streamBody(
  body: ReadableStream<Uint8Array>,
  part: string,
  start: number,
  total: number | undefined,
  controller: AbortController,
  opts: DownloadOptions,
): Promise<void> {
  const label = opts.label ?? part.replace(/\.part$/, '').split('/').pop()!;
  // kB units keep the bar's integer counters readable for files of any size.
  const bar = opts.quiet ? { tick() {}, stop() {} } : progressBar(label, total !== undefined ? Math.ceil(total / 1000) : 0, 'kB');
  let written = start;
  let shownKb = Math.floor(start / 1000);
  bar.tick(shownKb);
  const idleTimeout = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  let idleTimer: NodeJS.Timeout | undefined;
  const armIdle = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => controller.abort(), idleTimeout);
  };
  // Each chunk is awaited onto disk before the next is read, so when the connection breaks the
  // .part holds every byte received so far (a piped write stream may drop its buffer on error).
  const file = await open(part, start === 0 ? 'w' : 'a');
  try {
    armIdle();
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      armIdle();
      await file.write(chunk);
      written += chunk.length;
      const kb = Math.floor(written / 1000);
      if (kb > shownKb) {
        bar.tick(kb - shownKb);
        shownKb = kb;
      }
    }
    // The bar counts whole kB; round the last partial one up so a finished file shows total/total.
    if (Math.ceil(written / 1000) > shownKb) bar.tick(Math.ceil(written / 1000) - shownKb);
  } catch (err) {
    throw new TransferBroken(controller.signal.aborted ? `no data for ${idleTimeout / 1000} s` : networkReason(err));
  } finally {
    clearTimeout(idleTimer);
    await file.close();
    bar.stop();
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function contentRangeStart(header: string | null): number {
  const m = /bytes (\d+)-/.exec(header ?? '');
  return m ? Number(m[1]) : -1;
}

function contentRangeTotal(header: string | null): number | undefined {
  const m = /\/(\d+)\s*$/.exec(header ?? '');
  return m ? Number(m[1]) : undefined;
}

/** undici hides the real cause (ECONNREFUSED, ENOTFOUND...) one or two levels down. */
export function networkReason(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return err instanceof Error ? err.message : String(err);
}

/** URLs may carry signed query strings; errors show scheme, host and path only. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return url;
  }
}
