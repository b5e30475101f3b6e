/**
 * The JSON API of `dsi serve` (and the images it points to). Every handler gets a parsed request
 * and returns a reply; server.ts does the HTTP. Paths:
 *   GET  /api/runs                               the run list
 *   GET  /api/runs/<run>                         one run: status, config, curves, eval table (eval.md)
 *   GET  /api/runs/<run>/plots/<file>.png        a training-curves plot
 *   GET  /api/runs/<run>/queries?set=&k=&sort=   the run's models and a query set (sorted by AP of `sort`, worst first)
 *   GET  /api/runs/<run>/results?key=&k=         a query's top K per model, with AP@K and P@K
 *   GET  /api/runs/<run>/image?key=              a corpus row (row:N) or query image as PNG
 *   POST /api/runs/<run>/upload?class=           an image file as query (body: the file's bytes)
 *   GET  /api/compare?runs=A,B                   metrics and config differences
 *   GET  /api/compare/curves.svg?runs=A,B        overlaid training curves
 */
import sharp from 'sharp';
import { displayNameOf } from '../data/types.ts';
import type { ModelKind } from '../eval/types.ts';
import { UserError } from '../runtime/errors.ts';
import { compare, compareCurves, evaluatedFolder, listRuns, NotFound, plotFile, runDetail, storedRun, type StoreRoots } from './catalog.ts';
import { RunSession, type QueryEntry, type QuerySetName, type SessionOptions } from './session.ts';

export interface Reply {
  status: number;
  type: string;
  body: string | Buffer;
}

export interface ApiRequest {
  method: string;
  /** Decoded path segments after /api. */
  segments: string[];
  query: URLSearchParams;
  body: () => Promise<Buffer>;
}

const json = (value: unknown, status = 200): Reply => ({ status, type: 'application/json; charset=utf-8', body: JSON.stringify(value) });
const png = (body: Buffer): Reply => ({ status: 200, type: 'image/png', body });

export class Api {
  private readonly sessions = new Map<string, Promise<RunSession>>();
  private readonly thumbnails = new Map<string, Buffer>();

  constructor(
    private readonly roots: StoreRoots,
    private readonly sessionOptions: Omit<SessionOptions, 'folder'>,
  ) {}

  async handle(req: ApiRequest): Promise<Reply> {
    try {
      return await this.route(req);
    } catch (e) {
      if (e instanceof NotFound) return json({ error: e.message }, 404);
      if (e instanceof UserError) return json({ error: e.message }, 400);
      throw e;
    }
  }

  private async route({ method, segments: s, query, body }: ApiRequest): Promise<Reply> {
    const get = method === 'GET' || method === 'HEAD';
    if (get && s.length === 1 && s[0] === 'runs') return json(listRuns(this.roots));
    if (s[0] === 'runs' && s.length >= 2) {
      const run = storedRun(this.roots, s[1]);
      if (get && s.length === 2) return json(await runDetail(this.roots, run));
      if (get && s.length === 4 && s[2] === 'plots') return png(await plotFile(run, s[3]));
      if (s.length === 3) {
        if (get && s[2] === 'queries') return json(await this.queries(run.name, query));
        if (get && s[2] === 'results') return json(await this.results(run.name, query));
        if (get && s[2] === 'image') return png(await this.image(run.name, query.get('key') ?? ''));
        if (method === 'POST' && s[2] === 'upload') return json(await this.upload(run.name, await body(), query.get('class') || null));
      }
    }
    if (get && s[0] === 'compare') {
      const names = (query.get('runs') ?? '').split(',').filter(Boolean);
      if (s.length === 1) return json(await compare(this.roots, names));
      if (s.length === 2 && s[1] === 'curves.svg') return { status: 200, type: 'image/svg+xml', body: await compareCurves(this.roots, names) };
    }
    throw new NotFound(`no such API path /api/${s.join('/')}`);
  }

  /** The run's ranking session, opened (worker, checkpoints, corpus) on first use and kept. */
  session(run: string): Promise<RunSession> {
    let s = this.sessions.get(run);
    if (!s) {
      const folder = evaluatedFolder(storedRun(this.roots, run));
      s = RunSession.open(run, { ...this.sessionOptions, folder });
      this.sessions.set(run, s);
      s.catch(() => this.sessions.delete(run)); // a run that could not open may be fixed and retried
    }
    return s;
  }

  private kOf(session: RunSession, query: URLSearchParams): number {
    const raw = query.get('k');
    const k = raw === null || raw === '' ? session.info.mapK : Number(raw);
    const max = Math.min(100, session.corpus.indexedRows.length);
    if (!Number.isInteger(k) || k < 1 || k > max) throw new UserError(`k=${raw}: must be an integer from 1 to ${max}`);
    return k;
  }

  private async queries(run: string, query: URLSearchParams) {
    const session = await this.session(run);
    const k = this.kOf(session, query);
    const setName = (query.get('set') ?? 'test') as QuerySetName;
    const entries = await session.querySet(setName);
    const sort = query.get('sort') as ModelKind | null;
    if (sort) await session.rank(sort, entries, k, 'background');
    const rows = entries.map((e) => ({
      key: e.key,
      label: e.label,
      classes: e.classes,
      class_names: e.classes.map((c) => displayNameOf(session.corpus, c)),
      split: e.split,
      relevant: e.relevant.length,
      ap: Object.fromEntries(session.models.map((m) => {
        const list = session.cached(m.kind, e, k);
        return [m.kind, list ? session.scores(e, list, k).ap : undefined];
      })),
    }));
    if (sort) rows.sort((a, b) => (a.ap[sort] ?? Infinity) - (b.ap[sort] ?? Infinity));
    return {
      run,
      k,
      set: setName,
      sets: session.setNames(),
      sortedBy: sort,
      models: session.models,
      classNames: session.corpus.classNames,
      indexed: session.corpus.indexedRows.length,
      notes: session.info.notes,
      queries: rows,
    };
  }

  private async results(run: string, query: URLSearchParams) {
    const session = await this.session(run);
    const k = this.kOf(session, query);
    const entry = await session.entry(query.get('key') ?? '');
    return this.resultsFor(session, entry, k);
  }

  private async resultsFor(session: RunSession, entry: QueryEntry, k: number) {
    const corpus = session.corpus;
    const known = entry.classes.length > 0;
    const relevant = new Set(entry.relevant);
    const models = await Promise.all(
      session.models.map(async (m) => {
        try {
          const [list] = await session.rank(m.kind, [entry], k, 'interactive');
          const hits = list.ids.map((id, i) => {
            const record = corpus.records[corpus.indexedRows[id]];
            return { rank: i + 1, id, row: record.row, score: list.scores[i], classes: record.classes, class_names: record.classes.map((c) => displayNameOf(corpus, c)), source: record.source, relevant: known ? relevant.has(id) : null };
          });
          return { ...m, ...session.scores(entry, list, k), hits };
        } catch (e) {
          return { ...m, ap: null, precision: null, hits: [], error: (e as Error).message };
        }
      }),
    );
    return {
      run: session.run,
      k,
      query: { key: entry.key, label: entry.label, classes: entry.classes, class_names: entry.classes.map((c) => displayNameOf(corpus, c)), split: entry.split, relevant: entry.relevant.length },
      models,
    };
  }

  private async upload(run: string, bytes: Buffer, className: string | null) {
    if (bytes.length === 0) throw new UserError('the upload is empty: send an image file');
    const session = await this.session(run);
    const entry = await session.addUpload(new Uint8Array(bytes), className);
    return { key: entry.key, classes: entry.classes };
  }

  private async image(run: string, key: string): Promise<Buffer> {
    const session = await this.session(run);
    const id = `${run}\0${key}`;
    const cached = this.thumbnails.get(id);
    if (cached) return cached;
    const pixels = await session.pixelsOf(key);
    if (!pixels) throw new NotFound(`no image "${key}"`);
    const size = session.corpus.imageSize;
    const encoded = await sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
    if (this.thumbnails.size > 20000) this.thumbnails.clear();
    this.thumbnails.set(id, encoded);
    return encoded;
  }

  async close(): Promise<void> {
    const open = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(open.map((s) => s.then((x) => x.close(), () => {})));
  }
}
