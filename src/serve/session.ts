/**
 * A run as `dsi serve` browses it: the corpus (for thumbnails and relevance), the query sets one
 * can pick from, uploaded images, and every ranking computed so far (cached for the session).
 * Ranking itself happens in the run's worker (scheduler.ts) through the same rankers as
 * `dsi eval` and `dsi search`; metrics come from src/eval/metrics.ts.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCache } from '../data/cache.ts';
import { imagePixels, queriesOf, type Corpus } from '../data/types.ts';
import { averagePrecisionAtK, precisionAtK, relevanceOf } from '../eval/metrics.ts';
import { corpusQueries, fileQueries, folderQueries, type QuerySet } from '../eval/queries.ts';
import type { ModelKind } from '../eval/types.ts';
import type { RankedList } from '../types.ts';
import type { BackendChoice } from '../runtime/backend.ts';
import { UserError } from '../runtime/errors.ts';
import type { OpenedInfo } from './protocol.ts';
import { RankScheduler } from './scheduler.ts';

export type QuerySetName = 'test' | 'all' | 'folder';

export interface QueryEntry {
  key: string;
  /** Where the image came from (corpus source file, folder file, "upload"). */
  label: string;
  classes: string[];
  relevant: number[];
  /** test/train/val for corpus queries; folder; upload. */
  split: string;
  pixels: Uint8Array;
}

export interface SessionOptions {
  checkpointsDir: string;
  cacheRoot?: string;
  backend: BackendChoice;
  /** eval.json's query set, when `dsi eval --queries DIR` evaluated images outside the corpus. */
  folder: string | null;
  delayMs?: number;
}

const BATCH = 8;
const MAX_UPLOADS = 64;

export class RunSession {
  readonly run: string;
  private readonly scheduler: RankScheduler;
  info!: OpenedInfo;
  corpus!: Corpus;
  private readonly sets = new Map<QuerySetName, Promise<QueryEntry[]>>();
  private readonly entries = new Map<string, QueryEntry>();
  private readonly uploads: string[] = [];
  private readonly results = new Map<string, Promise<RankedList>>();
  private readonly done = new Map<string, RankedList>();

  private constructor(run: string, private readonly opts: SessionOptions) {
    this.run = run;
    this.scheduler = new RankScheduler({ run, checkpointsDir: opts.checkpointsDir, cacheRoot: opts.cacheRoot, backend: opts.backend, delayMs: opts.delayMs });
  }

  static async open(run: string, opts: SessionOptions): Promise<RunSession> {
    const s = new RunSession(run, opts);
    try {
      s.info = await s.scheduler.open();
      const found = await readCache(s.info.cachePath);
      if (!found) throw new UserError(`the corpus cache ${s.info.cachePath} could not be read`);
      s.corpus = found.corpus;
    } catch (e) {
      await s.scheduler.close();
      throw e instanceof UserError ? e : new UserError((e as Error).message);
    }
    return s;
  }

  get models(): OpenedInfo['models'] {
    return this.info.models;
  }

  setNames(): QuerySetName[] {
    return ['test', 'all', ...(this.opts.folder ? (['folder'] as const) : [])];
  }

  querySet(name: QuerySetName): Promise<QueryEntry[]> {
    if (!this.setNames().includes(name)) throw new UserError(`no query set "${name}" (this run has: ${this.setNames().join(', ')})`);
    let set = this.sets.get(name);
    if (!set) {
      set = this.loadSet(name);
      this.sets.set(name, set);
      set.catch(() => this.sets.delete(name));
    }
    return set;
  }

  private async loadSet(name: QuerySetName): Promise<QueryEntry[]> {
    const c = this.corpus;
    let set: QuerySet;
    let keys: string[];
    let labels: string[];
    let splits: string[];
    if (name === 'folder') {
      set = (await folderQueries(this.opts.folder!, c)).set;
      keys = set.keys.map((_, i) => `folder:${i}`);
      labels = set.keys;
      splits = set.keys.map(() => 'folder');
    } else {
      const records = queriesOf(c, name === 'test' ? 'test' : undefined);
      set = corpusQueries(c, records, name);
      keys = set.keys; // row:<n>
      labels = records.map((r) => r.source);
      splits = records.map((r) => r.role);
    }
    const per = set.imageSize * set.imageSize * 3;
    const out = keys.map((key, i) => ({
      key,
      label: labels[i],
      classes: set.classes[i],
      relevant: set.relevant[i],
      split: splits[i],
      pixels: set.pixels.subarray(i * per, (i + 1) * per),
    }));
    for (const e of out) this.entries.set(e.key, e);
    return out;
  }

  /** A query by key: a corpus row (`row:N`, any query row), a folder image or an upload. */
  async entry(key: string): Promise<QueryEntry> {
    const known = this.entries.get(key);
    if (known) return known;
    const row = /^row:(\d+)$/.exec(key);
    if (row && Number(row[1]) < this.corpus.records.length) {
      const r = this.corpus.records[Number(row[1])];
      if (r.role !== 'indexed') {
        await this.querySet('all');
        return this.entries.get(key)!;
      }
    }
    if (key.startsWith('folder:') && this.opts.folder) {
      await this.querySet('folder');
      const e = this.entries.get(key);
      if (e) return e;
    }
    throw new UserError(`no query "${key}" in run ${this.run}`);
  }

  /** Pixels of a corpus row (`row:N`, queries and indexed images alike) or of any known query. */
  async pixelsOf(key: string): Promise<Uint8Array | null> {
    const row = /^row:(\d+)$/.exec(key);
    if (row) {
      const n = Number(row[1]);
      return n < this.corpus.records.length ? imagePixels(this.corpus, n) : null;
    }
    return (await this.entry(key).catch(() => null))?.pixels ?? null;
  }

  /**
   * An uploaded image, decoded exactly as `dsi search` decodes its files (fileQueries); the class,
   * when given, is the parent folder's name, which is how `dsi search` learns a query's class.
   */
  async addUpload(bytes: Uint8Array, className: string | null): Promise<QueryEntry> {
    if (className !== null && !this.corpus.classNames.includes(className)) {
      throw new UserError(`class "${className}" is not one of this corpus's classes (${this.corpus.classNames.join(', ')})`);
    }
    const key = `upload:${createHash('sha256').update(bytes).update(`\0${className ?? ''}`).digest('hex').slice(0, 16)}`;
    const known = this.entries.get(key);
    if (known) return known;
    const dir = await mkdtemp(join(tmpdir(), 'dsi-serve-upload-'));
    try {
      const folder = join(dir, className ?? '_');
      await mkdir(folder);
      const file = join(folder, 'upload');
      await writeFile(file, bytes);
      const set = await fileQueries([file], this.corpus);
      if (set.count === 0) throw new UserError(`the uploaded file is not an image dsi can read: ${set.skipped[0]?.reason ?? 'unknown format'}`);
      const entry: QueryEntry = { key, label: 'upload', classes: set.classes[0], relevant: set.relevant[0], split: 'upload', pixels: set.pixels };
      this.entries.set(key, entry);
      this.uploads.push(key);
      if (this.uploads.length > MAX_UPLOADS) this.entries.delete(this.uploads.shift()!);
      return entry;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** One model's top K for some queries: cached lists first, the rest ranked in batches. */
  async rank(model: ModelKind, entries: readonly QueryEntry[], k: number, priority: 'interactive' | 'background'): Promise<RankedList[]> {
    if (!this.models.some((m) => m.kind === model)) throw new UserError(`run ${this.run} has no ${model} model (it has: ${this.models.map((m) => m.kind).join(', ')})`);
    const cacheKey = (e: QueryEntry) => `${model}|${k}|${e.key}`;
    // A query someone is looking at does not wait for a background chunk that happens to hold it.
    const missing = entries.filter((e) => !(priority === 'interactive' ? this.done.has(cacheKey(e)) : this.results.has(cacheKey(e))));
    const size = this.corpus.imageSize;
    const per = size * size * 3;
    for (let first = 0; first < missing.length; first += BATCH) {
      const chunk = missing.slice(first, first + BATCH);
      const pixels = new Uint8Array(chunk.length * per);
      chunk.forEach((e, i) => pixels.set(e.pixels, i * per));
      const lists = this.scheduler.rank(model, pixels, chunk.length, size, k, priority);
      chunk.forEach((e, i) => {
        const one = lists.then((l) => l[i]);
        one.then((l) => this.done.set(cacheKey(e), l), () => this.results.delete(cacheKey(e))); // a failure is not cached
        this.results.set(cacheKey(e), one);
      });
    }
    return Promise.all(entries.map((e) => this.results.get(cacheKey(e))!));
  }

  /** Whether a model's list for this query is already known (no work needed). */
  cached(model: ModelKind, entry: QueryEntry, k: number): RankedList | null {
    return this.done.get(`${model}|${k}|${entry.key}`) ?? null;
  }

  scores(entry: QueryEntry, list: RankedList, k: number): { ap: number | null; precision: number | null } {
    if (entry.classes.length === 0) return { ap: null, precision: null };
    const relevant = relevanceOf(entry.relevant);
    return { ap: averagePrecisionAtK(list.ids, relevant, k), precision: precisionAtK(list.ids, relevant, k) };
  }

  async close(): Promise<void> {
    await this.scheduler.close();
  }
}
