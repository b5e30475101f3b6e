/**
 * `dsi serve`: a local web page over the run store. Plain node:http; the page is three static
 * files (static/), the data comes from the JSON API (api.ts). Safe by default: it binds
 * 127.0.0.1, answers only Host names of the machine itself when bound there (no DNS rebinding),
 * serves files only by names it has checked, and caps uploads.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Api, type Reply } from './api.ts';
import type { BackendChoice } from '../runtime/backend.ts';

export interface ServeOptions {
  experimentsDir: string;
  checkpointsDir: string;
  cacheRoot?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  backend?: BackendChoice;
  maxUploadBytes?: number;
  /** Tests only: every ranking waits this long first (a slow model). */
  rankDelayMs?: number;
}

export interface RunningServer {
  url: string;
  server: Server;
  api: Api;
  close(): Promise<void>;
}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_MAX_UPLOAD = 10 * 1024 * 1024;

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  // Everything comes from this server: no CDN, no inline script.
  'Content-Security-Policy': "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
};

class TooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return reject(new TooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume(); // drain, so the reply can still be read by the client
        reject(new TooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** The Host header's name part, lower-cased. */
function hostName(header: string | undefined): string {
  if (!header) return '';
  const h = header.toLowerCase();
  return h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d+$/, '');
}

/** URL path segments, each percent-decoded once; null for a path no route could mean (dot segments, encoded slashes, NUL). */
export function pathSegments(rawPath: string): string[] | null {
  const segments: string[] = [];
  for (const raw of rawPath.split('/').slice(1)) {
    let s: string;
    try {
      s = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (s === '.' || s === '..' || /[/\\\0]/.test(s)) return null;
    segments.push(s);
  }
  if (segments.at(-1) === '') segments.pop();
  return segments;
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const host = opts.host ?? DEFAULT_HOST;
  const limit = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD;
  const api = new Api(
    { experimentsDir: opts.experimentsDir, checkpointsDir: opts.checkpointsDir },
    { checkpointsDir: opts.checkpointsDir, cacheRoot: opts.cacheRoot, backend: opts.backend ?? 'auto', delayMs: opts.rankDelayMs },
  );
  const staticDir = new URL('./static/', import.meta.url);
  const send = (res: ServerResponse, r: Reply, head = false) => {
    res.writeHead(r.status, { 'Content-Type': r.type, 'Cache-Control': 'no-store', ...SECURITY_HEADERS });
    res.end(head ? undefined : r.body);
  };
  const error = (status: number, message: string): Reply => ({ status, type: 'application/json; charset=utf-8', body: JSON.stringify({ error: message }) });

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    if (LOOPBACK.has(host) && !LOOPBACK.has(hostName(req.headers.host))) return send(res, error(421, 'dsi serve answers only to localhost'));
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const rawPath = q < 0 ? raw : raw.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    const segments = pathSegments(rawPath);
    if (!segments) return send(res, error(400, 'bad path'));
    const head = method === 'HEAD';
    if (segments[0] === 'api') {
      const reply = await api.handle({ method, segments: segments.slice(1), query, body: () => readBody(req, limit) }).catch((e: unknown) => {
        if (e instanceof TooLarge) return error(413, `upload too large: the limit is ${(limit / 1024 / 1024).toFixed(1)} MB`);
        return error(500, `internal error: ${(e as Error).message}`);
      });
      if (reply.status === 413) res.setHeader('Connection', 'close');
      return send(res, reply, head);
    }
    const file = STATIC[rawPath];
    if (!file || (method !== 'GET' && !head)) return send(res, error(404, 'not found'), head);
    return send(res, { status: 200, type: file.type, body: await readFile(new URL(file.file, staticDir)) }, head);
  };

  const server = createServer((req, res) => {
    handler(req, res).catch((e: Error) => {
      if (!res.headersSent) send(res, error(500, e.message));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown === '0.0.0.0' ? '127.0.0.1' : shown}:${port}/`,
    server,
    api,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await api.close();
    },
  };
}
