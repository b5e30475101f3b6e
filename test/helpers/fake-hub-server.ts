import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for huggingface.co on 127.0.0.1 that answers exactly the requests dsi makes through
 * @huggingface/hub and its downloader:
 *   GET /api/datasets/<repo>/revision/<rev>?expand=...   (datasetInfo: sha, cardData, gated)
 *   GET /api/datasets/<repo>/tree/<sha>[/<path>]?recursive=true&expand=false   (listFiles, paged by Link)
 *   GET /datasets/<repo>/resolve/<sha>/<path>   -> 302 to a second "CDN" origin, like the real Hub
 * The CDN serves bytes with Range support (`bytes=a-` and `bytes=a-b`), counts the bytes it sends,
 * and can be told to break a transfer half way.
 */
export interface FakeRevision {
  sha: string;
  files: Record<string, Uint8Array>;
  cardData?: unknown;
}

export interface FakeRepo {
  /** Only these tokens may download files (401 without a token, 403 with another one). */
  gatedTokens?: string[];
  /** Branch name (main, refs/convert/parquet) -> contents. */
  revisions: Record<string, FakeRevision>;
}

export interface SeenRequest {
  server: 'hub' | 'cdn';
  method: string;
  url: string;
  authorization?: string;
  range?: string;
  /** Body bytes the server sent in answer (CDN only). */
  bytes?: number;
}

export interface FakeHub {
  /** Base URL to put in HF_ENDPOINT. */
  url: string;
  requests: SeenRequest[];
  /** The next N CDN transfers send half the bytes and then close the connection. */
  breakNextTransfers(n: number): void;
  /** Requests to the CDN (actual file downloads, not metadata). */
  downloads(): SeenRequest[];
  /** File bytes the CDN has sent since `requests` was last emptied. */
  bytesTransferred(): number;
  close(): Promise<void>;
}

const TREE_PAGE_SIZE = 3;

export async function startFakeHub(repos: Record<string, FakeRepo>): Promise<FakeHub> {
  const requests: SeenRequest[] = [];
  let breaks = 0;
  const blobs = new Map<string, Uint8Array>();
  for (const repo of Object.values(repos)) {
    for (const rev of Object.values(repo.revisions)) {
      for (const bytes of Object.values(rev.files)) blobs.set(sha256(bytes), bytes);
    }
  }

  const record = (server: 'hub' | 'cdn', req: IncomingMessage): SeenRequest => {
    const seen: SeenRequest = { server, method: req.method!, url: req.url!, authorization: req.headers.authorization, range: req.headers.range };
    requests.push(seen);
    return seen;
  };

  const cdn = createServer((req, res) => {
    const seen = record('cdn', req);
    const blob = blobs.get(new URL(req.url!, 'http://x').pathname.slice(1));
    if (!blob) return json(res, 404, { error: 'no such blob' });
    const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const end = m && m[2] ? Number(m[2]) + 1 : blob.length;
    if (start >= blob.length) return void res.writeHead(416, { 'Content-Range': `bytes */${blob.length}` }).end();
    const body = blob.subarray(start, end);
    res.writeHead(m ? 206 : 200, {
      'Content-Length': body.length,
      'Accept-Ranges': 'bytes',
      ...(m ? { 'Content-Range': `bytes ${start}-${end - 1}/${blob.length}` } : {}),
    });
    if (breaks > 0 && body.length > 1) {
      breaks--;
      seen.bytes = Math.floor(body.length / 2);
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket!.end());
    } else {
      seen.bytes = body.length;
      res.end(body);
    }
  });
  await listen(cdn);
  const cdnUrl = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;

  const hub = createServer((req, res) => {
    record('hub', req);
    const url = new URL(req.url!, 'http://x');
    const path = decodeURI(url.pathname);
    let m = /^\/api\/datasets\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(url.pathname);
    if (m) {
      const repo = repos[m[1]];
      const rev = repo && findRevision(repo, decodeURIComponent(m[2]));
      if (!repo) return json(res, 404, { error: 'Repository not found' }, 'RepoNotFound');
      if (!rev) return json(res, 404, { error: 'Invalid rev id' }, 'RevisionNotFound');
      return json(res, 200, {
        _id: `id-${m[1]}`,
        id: m[1],
        private: false,
        gated: repo.gatedTokens ? 'manual' : false,
        downloads: 0,
        likes: 0,
        lastModified: '2024-01-01T00:00:00.000Z',
        sha: rev.sha,
        cardData: rev.cardData ?? {},
      });
    }
    m = /^\/api\/datasets\/([^/]+\/[^/]+)\/tree\/([^/]+)(\/.*)?$/.exec(path);
    if (m) {
      const repo = repos[m[1]];
      const rev = repo && findRevision(repo, m[2]);
      if (!rev) return json(res, 404, { error: 'Repository not found' }, 'RepoNotFound');
      const prefix = m[3] ? m[3].slice(1) + '/' : '';
      const entries = Object.entries(rev.files)
        .filter(([p]) => p.startsWith(prefix))
        .map(([p, bytes]) => ({
          type: 'file',
          path: p,
          size: bytes.length,
          oid: sha256(bytes).slice(0, 40),
          lfs: { oid: sha256(bytes), size: bytes.length, pointerSize: 134 },
        }));
      // Page the listing so the client's Link-header pagination is exercised.
      const cursor = Number(url.searchParams.get('cursor') ?? 0);
      const page = entries.slice(cursor, cursor + TREE_PAGE_SIZE);
      const headers: Record<string, string> = {};
      if (cursor + TREE_PAGE_SIZE < entries.length) {
        const next = new URL(req.url!, hubUrl);
        next.searchParams.set('cursor', String(cursor + TREE_PAGE_SIZE));
        headers.Link = `<${next.href}>; rel="next"`;
      }
      return json(res, 200, page, undefined, headers);
    }
    m = /^\/datasets\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (m) {
      const repo = repos[m[1]];
      const rev = repo && findRevision(repo, m[2]);
      const bytes = rev?.files[m[3]];
      if (repo?.gatedTokens) {
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (!token) return json(res, 401, { error: `Access to dataset ${m[1]} is restricted. You must be authenticated.` }, 'GatedRepo');
        if (!repo.gatedTokens.includes(token)) return json(res, 403, { error: `Access to dataset ${m[1]} is restricted.` }, 'GatedRepo');
      }
      if (!bytes) return json(res, 404, { error: 'Entry not found' }, 'EntryNotFound');
      res.writeHead(302, { Location: `${cdnUrl}/${sha256(bytes)}?X-Amz-Signature=signed`, 'X-Linked-Size': bytes.length });
      return void res.end();
    }
    json(res, 404, { error: `unexpected request ${req.method} ${req.url}` });
  });
  await listen(hub);
  const hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;

  return {
    url: hubUrl,
    requests,
    breakNextTransfers(n) {
      breaks = n;
    },
    downloads: () => requests.filter((r) => r.server === 'cdn'),
    bytesTransferred: () => requests.reduce((n, r) => n + (r.bytes ?? 0), 0),
    async close() {
      for (const s of [hub, cdn]) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
    },
  };
}

function findRevision(repo: FakeRepo, rev: string): FakeRevision | undefined {
  return repo.revisions[rev] ?? Object.values(repo.revisions).find((r) => r.sha === rev);
}

function json(res: ServerResponse, status: number, body: unknown, errorCode?: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...(errorCode ? { 'X-Error-Code': errorCode } : {}), ...headers });
  res.end(JSON.stringify(body));
}

function listen(server: Server): Promise<void> {
  return new Promise((r) => server.listen(0, '127.0.0.1', r));
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A 40-hex commit id derived from a label, so tests can predict it. */
export function fakeSha(label: string): string {
  return createHash('sha1').update(label).digest('hex');
}

export interface LabelledImage {
  bytes: Uint8Array;
  /** Original file name, stored in the Image struct's `path` like `datasets` does. */
  name: string;
  label: number | null;
}

/**
 * A parquet shard laid out like the ones `datasets` and the Hub's converter write: an Image
 * column (struct {bytes, path}), an int64 ClassLabel column, and the "huggingface" key-value
 * metadata carrying the features (unless `withFeatures` is false, as in some hand-made exports).
 */
export async function buildImageShard(
  images: LabelledImage[],
  labelNames: string[],
  opts: { rowGroupSize?: number; withFeatures?: boolean } = {},
): Promise<Uint8Array> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const features = { image: { _type: 'Image' }, label: { names: labelNames, _type: 'ClassLabel' } };
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'image', data: images.map((im) => ({ bytes: im.bytes, path: im.name })) },
      { name: 'label', data: images.map((im) => (im.label === null ? null : BigInt(im.label))) },
    ],
    schema: [
      { name: 'schema', num_children: 2 },
      { name: 'image', num_children: 2, repetition_type: 'OPTIONAL' },
      { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
      { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'label', type: 'INT64', repetition_type: 'OPTIONAL' },
    ],
    rowGroupSize: opts.rowGroupSize ?? 1000,
    kvMetadata:
      opts.withFeatures === false ? [] : [{ key: 'huggingface', value: JSON.stringify({ info: { features } }) }],
  });
  return new Uint8Array(buffer);
}
