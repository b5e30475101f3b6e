/**
 * W&B's HTTP API as dsi uses it (no SDK: @wandb/sdk 0.5.1 overwrote each row's _timestamp, had no
 * media upload, and its untimed requests and retry loops could keep a process alive): `viewer` (a cheap reachability and
 * key check before a run starts) and `upsertBucket` with tags, group and summaryMetrics (the SDK's
 * init sends only name, project, entity, display name and config, and has no summary API).
 * Same endpoint (<base>/graphql) and same auth as the SDK: HTTP basic `api:<key>`.
 */

export interface WandbEndpoint {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
  /** Aborts every request in flight (a run that gives up on W&B leaves no socket behind). */
  signal?: AbortSignal;
}

function requestSignal(ep: WandbEndpoint): AbortSignal {
  const timeout = AbortSignal.timeout(ep.timeoutMs);
  return ep.signal ? AbortSignal.any([ep.signal, timeout]) : timeout;
}

/** Why a call failed, in words that never contain the key. */
export class WandbUnavailable extends Error {
  constructor(message: string, readonly kind: 'unreachable' | 'rejected' | 'server') {
    super(message);
    this.name = 'WandbUnavailable';
  }
}

export function authHeader(apiKey: string): string {
  return `Basic ${Buffer.from(`api:${apiKey}`).toString('base64')}`;
}

async function graphql<T>(ep: WandbEndpoint, query: string, variables: Record<string, unknown>): Promise<T> {
  const url = `${ep.baseUrl.replace(/\/+$/, '')}/graphql`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: authHeader(ep.apiKey), 'user-agent': 'dsi (W&B GraphQL)' },
      body: JSON.stringify({ query, variables }),
      signal: requestSignal(ep),
    });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string; errors?: Array<{ code?: string }> } };
    const cause = err.cause;
    const why = err.name === 'TimeoutError' ? `no answer within ${ep.timeoutMs} ms` : err.name === 'AbortError' ? 'abandoned' : cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message ?? err.message;
    throw new WandbUnavailable(`${url} unreachable (${why})`, 'unreachable');
  }
  if (res.status === 401 || res.status === 403) {
    throw new WandbUnavailable(`${url} rejected the API key (HTTP ${res.status}); check WANDB_API_KEY`, 'rejected');
  }
  if (!res.ok) throw new WandbUnavailable(`${url} answered HTTP ${res.status}`, 'server');
  let body: { data?: T; errors?: Array<{ message?: string }> };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new WandbUnavailable(`${url} answered something that is not JSON`, 'server');
  }
  if (body.errors?.length) throw new WandbUnavailable(`${url}: ${body.errors[0].message ?? 'GraphQL error'}`, 'server');
  if (!body.data) throw new WandbUnavailable(`${url}: empty GraphQL answer`, 'server');
  return body.data;
}

/** The key's default entity (user or team name); also proves the server is up and the key valid. */
export async function viewerEntity(ep: WandbEndpoint): Promise<string> {
  const data = await graphql<{ viewer: { entity?: string } | null }>(ep, 'query Viewer { viewer { id entity } }', {});
  if (!data.viewer) throw new WandbUnavailable('the server did not recognise the API key (viewer is null); check WANDB_API_KEY', 'rejected');
  return data.viewer.entity ?? '';
}

export interface UpsertRunVars {
  name: string;
  project: string;
  entity: string;
  displayName?: string;
  groupName?: string;
  tags?: string[];
  /** JSON string, W&B config format ({key: {value, desc}}). */
  config?: string;
  /** JSON string of the summary. */
  summaryMetrics?: string;
  commit?: string;
}

const UPSERT = `mutation UpsertBucket($name: String, $project: String, $entity: String, $displayName: String,
  $groupName: String, $tags: [String!], $config: JSONString, $summaryMetrics: JSONString, $commit: String) {
  upsertBucket(input: { name: $name, modelName: $project, entityName: $entity, displayName: $displayName,
    groupName: $groupName, tags: $tags, config: $config, summaryMetrics: $summaryMetrics, commit: $commit }) {
    bucket { id name displayName }
    inserted
  }
}`;

/** Create or update a run; only the fields given are sent, so partial updates (summary only) work. */
export async function upsertRun(ep: WandbEndpoint, vars: UpsertRunVars): Promise<void> {
  const defined = Object.fromEntries(Object.entries(vars).filter(([, v]) => v !== undefined));
  await graphql(ep, UPSERT, defined);
}

const UPLOAD_URLS = `query RunUploadUrls($name: String!, $files: [String]!, $entity: String, $run: String!) {
  model(name: $name, entityName: $entity) {
    bucket(name: $run) {
      id
      files(names: $files) {
        uploadHeaders
        edges { node { name url(upload: true) } }
      }
    }
  }
}`;

export interface RunRef {
  entity: string;
  project: string;
  id: string;
}

/**
 * Upload files into a run's file store, as the W&B clients do: ask GraphQL for signed upload URLs
 * (RunUploadUrls), then PUT each file's bytes there with the headers the server names. The
 * storage URL is pre-signed, so the key is not sent with the PUT.
 */
export async function uploadRunFiles(ep: WandbEndpoint, run: RunRef, files: ReadonlyArray<{ name: string; bytes: Buffer }>): Promise<void> {
  if (files.length === 0) return;
  type Answer = { model: { bucket: { files: { uploadHeaders?: string[] | null; edges: Array<{ node: { name: string; url: string | null } }> } } | null } | null };
  const data = await graphql<Answer>(ep, UPLOAD_URLS, { name: run.project, entity: run.entity, run: run.id, files: files.map((f) => f.name) });
  const found = data.model?.bucket?.files;
  if (!found) throw new WandbUnavailable(`the server has no run ${run.entity}/${run.project}/${run.id} to upload files to`, 'server');
  const headers: Record<string, string> = {};
  for (const h of found.uploadHeaders ?? []) {
    const i = h.indexOf(':');
    if (i > 0) headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  const urls = new Map(found.edges.map((e) => [e.node.name, e.node.url]));
  for (const f of files) {
    const url = urls.get(f.name);
    if (!url) throw new WandbUnavailable(`the server gave no upload URL for ${f.name}`, 'server');
    let res: Response;
    try {
      res = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', ...headers }, body: new Uint8Array(f.bytes), signal: requestSignal(ep) });
    } catch (e) {
      throw new WandbUnavailable(`upload of ${f.name} failed (${(e as Error).name === 'TimeoutError' ? `no answer within ${ep.timeoutMs} ms` : (e as Error).message})`, 'unreachable');
    }
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new WandbUnavailable(`upload of ${f.name} answered HTTP ${res.status}`, 'server');
  }
}

/**
 * POST one message to the run's file_stream endpoint (<base>/files/<entity>/<project>/<run>/file_stream),
 * the way W&B clients stream history: `{files: {'wandb-history.jsonl': {offset, content: [lines]}}}`,
 * and `{complete: true, exitcode}` at the end. Bounded by the endpoint's timeout.
 */
export async function postFileStream(ep: WandbEndpoint, run: RunRef, message: Record<string, unknown>): Promise<void> {
  const url = `${ep.baseUrl.replace(/\/+$/, '')}/files/${encodeURIComponent(run.entity)}/${encodeURIComponent(run.project)}/${encodeURIComponent(run.id)}/file_stream`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: authHeader(ep.apiKey), 'user-agent': 'dsi (W&B file_stream)' },
      body: JSON.stringify(message),
      signal: requestSignal(ep),
    });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === 'TimeoutError' ? `no answer within ${ep.timeoutMs} ms` : err.cause?.code ?? err.cause?.message ?? err.message;
    throw new WandbUnavailable(`${ep.baseUrl} unreachable (${why})`, 'unreachable');
  }
  await res.arrayBuffer().catch(() => undefined);
  if (res.status === 401 || res.status === 403) throw new WandbUnavailable(`${ep.baseUrl} rejected the API key (HTTP ${res.status}); check WANDB_API_KEY`, 'rejected');
  if (!res.ok) throw new WandbUnavailable(`${ep.baseUrl} file_stream answered HTTP ${res.status}`, 'server');
}
