import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A stand-in for W&B's backend on 127.0.0.1, implementing the endpoints dsi calls: POST /graphql
 * (viewer, upsertBucket, RunUploadUrls), POST /files/<entity>/<project>/<run>/file_stream, and
 * PUT /storage/... (the pre-signed upload URLs RunUploadUrls hands out).
 * It keeps what arrived per run so tests can assert config, history and summary.
 */
export interface FakeRun {
  entity: string;
  project: string;
  name: string;
  displayName?: string;
  groupName?: string;
  tags?: string[];
  /** As W&B stores it: {key: {value, desc}}. */
  config: Record<string, { value: unknown }>;
  /** wandb-history.jsonl, indexed by the offset the client sent. */
  history: Array<Record<string, unknown>>;
  /** The summary as the server would show it: the last summaryMetrics or file-stream summary wins. */
  summary: Record<string, unknown>;
  complete: boolean;
  /** Files uploaded into the run (media/images/...), by name. */
  files: Map<string, Buffer>;
}

export interface FakeWandbServer {
  url: string;
  runs: Map<string, FakeRun>;
  /** Every Authorization header received by the API (and any sent to storage, which should be none). */
  authHeaders: string[];
  requests: Array<{ path: string; body: string }>;
  /** Sockets currently open to the server (close() destroys them all). */
  openSockets(): number;
  /** 'ok', or 'reject' (every request answers 401, as W&B does for a bad key). */
  mode: 'ok' | 'reject';
  run(name: string): FakeRun | undefined;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function startFakeWandb(mode: 'ok' | 'reject' = 'ok'): Promise<FakeWandbServer> {
  const runs = new Map<string, FakeRun>();
  const state: FakeWandbServer = {
    url: '',
    runs,
    authHeaders: [],
    requests: [],
    mode,
    run: (name) => [...runs.values()].find((r) => r.name === name),
    openSockets: () => [...sockets].filter((s) => !s.destroyed).length,
    // Stop listening first, then destroy every socket, tracked by hand: closeAllConnections() only
    // knows sockets that have an HTTP parser attached, and a socket accepted in between would
    // keep close() waiting (keepAliveTimeout is 65 s) - and the test with it.
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
    }),
  };
  const sockets = new Set<Socket>();
  const getRun = (entity: string, project: string, name: string): FakeRun => {
    const key = `${entity}/${project}/${name}`;
    if (!runs.has(key)) runs.set(key, { entity, project, name, config: {}, history: [], summary: {}, complete: false, files: new Map() });
    return runs.get(key)!;
  };

  const server: Server = createServer(async (req, res) => {
    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch {
      return; // the client went away mid-request
    }
    const body = raw.toString('utf8');
    state.requests.push({ path: req.url ?? '', body: req.method === 'PUT' ? `<${raw.length} bytes>` : body });
    // Uploads go to pre-signed storage URLs, which carry no W&B credentials.
    if (!(req.url ?? '').startsWith('/storage/')) state.authHeaders.push(req.headers.authorization ?? '');
    else if (req.headers.authorization) state.authHeaders.push(`storage got: ${req.headers.authorization}`);
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (state.mode === 'reject') return send(401, { errors: [{ message: 'user is not logged in' }] });

    if (req.method === 'POST' && req.url === '/graphql') {
      const { query, variables: v = {} } = JSON.parse(body) as { query: string; variables?: Record<string, any> };
      if (/RunUploadUrls/.test(query)) {
        const run = getRun(v.entity || 'fake-entity', v.name, v.run);
        const edges = (v.files as string[]).map((name) => ({ node: { name, url: `${state.url}/storage/${[run.entity, run.project, run.name].map(encodeURIComponent).join('/')}?file=${encodeURIComponent(name)}` } }));
        return send(200, { data: { model: { bucket: { id: 'QnVja2V0OjE=', files: { uploadHeaders: ['X-Fake-Upload:yes'], edges } } } } });
      }
      if (/\bviewer\b/.test(query)) {
        return send(200, { data: { viewer: { id: 'VXNlcjox', entity: 'fake-entity', flags: '{}', teams: { edges: [] } } } });
      }
      if (/upsertBucket/.test(query)) {
        const run = getRun(v.entity || 'fake-entity', v.project || 'uncategorized', v.name);
        if (v.displayName) run.displayName = v.displayName;
        if (v.groupName) run.groupName = v.groupName;
        if (v.tags) run.tags = v.tags;
        if (v.config) run.config = { ...run.config, ...JSON.parse(v.config) };
        if (v.summaryMetrics) run.summary = JSON.parse(v.summaryMetrics);
        return send(200, {
          data: {
            upsertBucket: {
              bucket: { id: 'QnVja2V0OjE=', name: run.name, displayName: run.displayName ?? run.name, description: null, config: JSON.stringify(run.config), sweepName: null, project: { id: 'UHJvamVjdDox', name: run.project, entity: { id: 'RW50aXR5OjE=', name: run.entity } } },
              inserted: true,
            },
          },
        });
      }
      return send(200, { errors: [{ message: `fake server: unknown query ${query.slice(0, 40)}` }] });
    }

    const put = /^\/storage\/([^/]*)\/([^/]+)\/([^/?]+)\?file=(.+)$/.exec(req.url ?? '');
    if (req.method === 'PUT' && put) {
      if (req.headers['x-fake-upload'] !== 'yes') return send(400, { error: 'upload headers missing' });
      const run = getRun(decodeURIComponent(put[1]), decodeURIComponent(put[2]), decodeURIComponent(put[3]));
      run.files.set(decodeURIComponent(put[4]), raw);
      return send(200, {});
    }

    const fs = /^\/files\/([^/]*)\/([^/]+)\/([^/]+)\/file_stream$/.exec(req.url ?? '');
    if (req.method === 'POST' && fs) {
      const run = getRun(decodeURIComponent(fs[1]), decodeURIComponent(fs[2]), decodeURIComponent(fs[3]));
      const msg = JSON.parse(body) as { files?: Record<string, { offset: number; content: string[] }>; complete?: boolean };
      const hist = msg.files?.['wandb-history.jsonl'];
      if (hist) hist.content.forEach((line, i) => (run.history[hist.offset + i] = JSON.parse(line)));
      const summ = msg.files?.['wandb-summary.json'];
      if (summ) run.summary = JSON.parse(summ.content[summ.content.length - 1]);
      if (msg.complete) run.complete = true;
      return send(200, { exitcode: null, limits: {} });
    }
    send(404, { error: 'not found' });
  });
  // Real W&B sits behind load balancers that keep idle connections for minutes; Node's 5 s default
  // would make the SDK's node-fetch reuse a socket the server just closed ("socket hang up").
  server.keepAliveTimeout = 65_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/** A port on 127.0.0.1 where nothing listens (a server that was started and closed). */
export async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
