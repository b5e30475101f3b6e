import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../runtime/errors.ts';
import { field, numberField, path, stringField } from './eval-fields.ts';
import { STORE_FILES } from './store.ts';
import type { Verdict } from '../eval/types.ts';

/**
 * `dsi runs table RUN...`: the results grid from the runs' eval.json, one row per model, grouped
 * by dataset and DB size (rendered as Markdown, CSV or LaTeX by table-render.ts). Every metric carries its 95% interval: the
 * bootstrap interval eval.json holds, or for IA@K (a proportion over the indexed images) a Wilson
 * interval. The reference protocol's sampled columns ("MAP@10" = mean P@10 over 10 sampled test
 * queries, Recall@100 over 10 others) are kept as they are, for comparison with its table.
 * A run evaluated on out-of-corpus queries too (`dsi eval --queries DIR`, the images of the
 * corpus's classes it does not hold) gets their P@K and MAP@K as "(OOC)" columns beside the test
 * split's, read from the newest eval-queries-*.json that reports images left out of the corpus.
 */

export type TableFormat = 'md' | 'csv' | 'tex';

export interface Interval {
  mean: number;
  low: number;
  high: number;
}

export interface TableRow {
  run: string;
  dataset: string;
  dbSize: number;
  /** "-" for BoVW and the dense dual encoder, which have no IDs. */
  idScheme: string;
  /**
   * The ID scheme of the corpus the row was measured on, for baselines too: they read no IDs, but
   * the corpus's image order (hence BoVW's k-means sample) follows them. "clustered/hierarchical"
   * when one baseline row stands for corpora of several schemes.
   */
  corpusIds: string;
  kind: string;
  model: string;
  queries: number | null;
  /** Out-of-corpus queries behind the (OOC) columns, when there are any. */
  oocQueries: number | null;
  /** By column name: IA@1, IA@5, ref "MAP@10", ref Recall@100, MAP@10, P@10, Recall@100, nDCG@10. */
  values: Record<string, Interval | null>;
  msPerQuery: number | null;
  /**
   * Paired differences this model minus a baseline of its own run (eval.json `paired`, bootstrapped
   * over the same queries), by `<baseline kind> <column>`, e.g. `bovw P@10`, `dense P@10 (OOC)`.
   * Absent for reports written before eval computed them.
   */
  paired?: Record<string, PairedInterval>;
  /** A published figure shown for comparison (src/grid/reference-rows.ts), not a run: never bold. */
  reported?: boolean;
}

export interface PairedInterval extends Interval {
  verdict: Verdict;
}

export interface ResultsTable {
  columns: string[];
  rows: TableRow[];
}

const MODEL_ORDER = ['bovw', 'dense', 'zero-shot', 'fine-tuned'];

/** eval.json of a run name (under experimentsDir), a run folder, or the file itself. */
export function readEvalReport(experimentsDir: string, run: string): { run: string; report: unknown; outOfCorpus?: unknown } {
  const candidates = [join(experimentsDir, run, STORE_FILES.evalReport), join(run, STORE_FILES.evalReport), run];
  for (const file of candidates) {
    if (existsSync(file) && statSync(file).isFile()) {
      const report = readJson(file);
      return { run: stringField(report, 'run') ?? run, report, outOfCorpus: outOfCorpusReport(dirname(file)) };
    }
  }
  throw new UserError(`run ${run} has no eval.json (looked in ${join(experimentsDir, run)}); run \`dsi eval --run ${run} --protocol both\` first`);
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file} is not valid JSON (${(err as Error).message})`);
  }
}

/** The newest `eval-queries-*.json` of a run folder whose query set left the corpus's own images out. */
function outOfCorpusReport(runDir: string): unknown {
  const reports = readdirSync(runDir)
    .filter((f) => /^eval-queries-.*\.json$/.test(f))
    .map((f) => readJson(join(runDir, f)))
    .filter((r) => numberField(field(r, 'querySet'), 'inCorpus') !== null);
  reports.sort((a, b) => (stringField(b, 'created') ?? '').localeCompare(stringField(a, 'created') ?? ''));
  return reports[0];
}

/** The suffix of out-of-corpus columns. */
export const OOC = '(OOC)';

export function buildResultsTable(reports: { run: string; report: unknown; outOfCorpus?: unknown }[]): ResultsTable {
  const columnSet = new Set<string>();
  const rows: TableRow[] = [];
  for (const { run, report, outOfCorpus } of reports) {
    const corpus = field(report, 'corpus');
    const evalSettings = field(report, 'eval');
    const mapK = numberField(evalSettings, 'mapK') ?? 10;
    const recallK = numberField(evalSettings, 'recallK') ?? 100;
    const indexed = numberField(corpus, 'indexed') ?? 0;
    const models = field(report, 'models');
    if (!Array.isArray(models)) throw new UserError(`eval.json of ${run} has no models`);
    for (const m of models) {
      const kind = stringField(m, 'kind') ?? 'model';
      const values: Record<string, Interval | null> = {};
      const ia = field(m, 'ia');
      if (ia && typeof ia === 'object') {
        for (const [k, v] of Object.entries(ia as Record<string, unknown>)) {
          if (typeof v === 'number') values[k] = wilson(v, indexed);
        }
      }
      const ref = field(m, 'reference');
      if (ref) {
        values[`"MAP@${mapK}" (ref)`] = point(numberField(ref, 'refMap'));
        values[`Recall@${recallK} (ref)`] = point(numberField(ref, 'recall'));
      }
      const full = field(m, 'full');
      if (full) {
        values[`MAP@${mapK}`] = estimate(field(full, 'map'));
        values[`P@${mapK}`] = estimate(field(full, 'precision'));
        values[`Recall@${recallK}`] = estimate(field(full, 'recall'));
        values[`nDCG@${mapK}`] = estimate(field(full, 'ndcg'));
      }
      const ooc = outOfCorpusModel(outOfCorpus, m);
      if (ooc) {
        values[`P@${mapK} ${OOC}`] = estimate(field(ooc, 'precision'));
        values[`MAP@${mapK} ${OOC}`] = estimate(field(ooc, 'map'));
      }
      for (const k of Object.keys(values)) columnSet.add(k);
      const paired = { ...pairedOf(report, kind, `P@${mapK}`), ...pairedOf(outOfCorpus, kind, `P@${mapK} ${OOC}`) };
      rows.push({
        run,
        dataset: stringField(corpus, 'dataset') ?? '?',
        dbSize: numberField(corpus, 'dbSize') ?? 0,
        idScheme: kind === 'bovw' || kind === 'dense' ? '-' : (stringField(corpus, 'idScheme') ?? '?'),
        corpusIds: stringField(corpus, 'idScheme') ?? '?',
        kind,
        model: stringField(m, 'label') ?? kind,
        queries: numberField(path(m, 'full'), 'queries') ?? numberField(field(report, 'querySet'), 'count'),
        oocQueries: ooc ? numberField(ooc, 'queries') : null,
        values,
        msPerQuery: numberField(m, 'msPerQuery'),
        ...(Object.keys(paired).length ? { paired } : {}),
      });
    }
  }
  return { columns: orderColumns([...columnSet]), rows: dedupeBaselines(sortRows(rows)) };
}

/** A report's paired P@K differences of model `kind` against each baseline, keyed `<baseline> <column>`. */
function pairedOf(report: unknown, kind: string, column: string): Record<string, PairedInterval> {
  const pairs = field(report, 'paired');
  if (!Array.isArray(pairs)) return {};
  const out: Record<string, PairedInterval> = {};
  for (const p of pairs) {
    const diff = estimate(field(p, 'precision'));
    const verdict = stringField(p, 'verdict');
    const baseline = stringField(p, 'b');
    if (stringField(p, 'a') !== kind || !diff || !baseline || (verdict !== 'above' && verdict !== 'below' && verdict !== 'level')) continue;
    out[`${baseline} ${column}`] = { ...diff, verdict };
  }
  return out;
}

/** The same model's full-protocol numbers in the out-of-corpus report (matched by kind and label). */
function outOfCorpusModel(report: unknown, model: unknown): unknown {
  const models = field(report, 'models');
  if (!Array.isArray(models)) return undefined;
  const same = models.find((o) => stringField(o, 'kind') === stringField(model, 'kind') && stringField(o, 'label') === stringField(model, 'label'));
  return same ? field(same, 'full') : undefined;
}

/** IA columns first (by K), then the reference's sampled columns, then the full-protocol ones, then out-of-corpus. */
function orderColumns(columns: string[]): string[] {
  const rank = (c: string) => (c.startsWith('IA@') ? 0 : c.endsWith('(ref)') ? 1 : c.endsWith(OOC) ? 3 : 2);
  const order = ['MAP', 'P@', 'Recall', 'nDCG'];
  const sub = (c: string) => {
    const i = order.findIndex((p) => c.replace(/^"/, '').startsWith(p));
    return i < 0 ? order.length : i;
  };
  return columns.sort((a, b) => rank(a) - rank(b) || sub(a) - sub(b) || kOf(a) - kOf(b) || a.localeCompare(b));
}

const kOf = (c: string) => Number(/@(\d+)/.exec(c)?.[1] ?? 0);

function sortRows(rows: TableRow[]): TableRow[] {
  const modelRank = (k: string) => {
    const i = MODEL_ORDER.indexOf(k);
    return i < 0 ? MODEL_ORDER.length : i;
  };
  return [...rows].sort(
    (a, b) =>
      a.dataset.localeCompare(b.dataset) ||
      a.dbSize - b.dbSize ||
      modelRank(a.kind) - modelRank(b.kind) ||
      a.idScheme.localeCompare(b.idScheme) ||
      a.run.localeCompare(b.run),
  );
}

/** The same BoVW numbers from two runs on one corpus (clustered and random IDs) are one row. */
function dedupeBaselines(rows: TableRow[]): TableRow[] {
  const seen = new Map<string, TableRow>();
  const out: TableRow[] = [];
  for (const row of rows) {
    if (row.idScheme !== '-') {
      out.push(row);
      continue;
    }
    const key = JSON.stringify([row.dataset, row.dbSize, row.model, row.values]);
    const first = seen.get(key);
    if (first) {
      first.run += `, ${row.run}`;
      if (!first.corpusIds.split('/').includes(row.corpusIds)) first.corpusIds += `/${row.corpusIds}`;
    } else {
      seen.set(key, row);
      out.push(row);
    }
  }
  return out;
}

function point(v: number | null): Interval | null {
  return v === null ? null : { mean: v, low: Number.NaN, high: Number.NaN };
}

function estimate(e: unknown): Interval | null {
  const mean = numberField(e, 'mean');
  if (mean === null || numberField(e, 'n') === 0) return null;
  return { mean, low: numberField(e, 'low') ?? Number.NaN, high: numberField(e, 'high') ?? Number.NaN };
}

/** Wilson score interval (95%) of a proportion over n trials. */
export function wilson(p: number, n: number): Interval {
  if (n <= 0) return { mean: p, low: Number.NaN, high: Number.NaN };
  const z = 1.959964;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return { mean: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** Groups of rows sharing dataset and DB size, in table order. */
export function groupsOf(rows: TableRow[]): { dataset: string; dbSize: number; rows: TableRow[] }[] {
  const out: { dataset: string; dbSize: number; rows: TableRow[] }[] = [];
  for (const row of rows) {
    const last = out[out.length - 1];
    if (last && last.dataset === row.dataset && last.dbSize === row.dbSize) last.rows.push(row);
    else out.push({ dataset: row.dataset, dbSize: row.dbSize, rows: [row] });
  }
  return out;
}
