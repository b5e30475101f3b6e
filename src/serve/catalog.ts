/**
 * What `dsi serve` shows about runs without ranking anything: the run store (experiments/<run>/,
 * read by src/track) and which checkpoints exist. Files are only ever opened by names checked
 * here: a run must be one the store lists, a plot a plain .png inside that run's plots/ folder.
 */
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { renderMarkdown } from '../eval/report.ts';
import type { EvalReport } from '../eval/types.ts';
import { compareRuns, keptTrainingMetrics, listRow, type RunListRow } from '../track/compare.ts';
import { compareCurvesSpec } from '../track/plots/curves.ts';
import { renderSvg } from '../track/plots/render.ts';
import { listRunNames, readRun, STORE_FILES, type StoredRun } from '../track/store.ts';
import { UserError } from '../runtime/errors.ts';
import { camelCaseKeys } from '../runtime/json.ts';

export interface StoreRoots {
  experimentsDir: string;
  checkpointsDir: string;
}

export class NotFound extends Error {}

export interface RunSummary extends Omit<RunListRow, 'status'> {
  /** training / interrupted / finished (as `dsi runs list`), or why the run could not be read. */
  status: string;
  evaluated: boolean;
  checkpoints: { indexing: boolean; retrieval: boolean };
}

function checkpointsOf(roots: StoreRoots, name: string) {
  const has = (kind: string) => existsSync(join(roots.checkpointsDir, name, kind)) || existsSync(join(roots.checkpointsDir, name, `.old-${kind}`));
  return { indexing: has('indexing'), retrieval: has('retrieval') };
}

/** A run named in a URL, opened only if the store lists it under exactly that name. */
export function storedRun(roots: StoreRoots, name: string): StoredRun {
  if (!listRunNames(roots.experimentsDir).includes(name)) throw new NotFound(`no run "${name}"`);
  return readRun(roots.experimentsDir, name);
}

export function summaryOf(roots: StoreRoots, run: StoredRun): RunSummary {
  return { ...listRow(run), evaluated: run.evalReport !== null, checkpoints: checkpointsOf(roots, run.name) };
}

export function listRuns(roots: StoreRoots): RunSummary[] {
  return listRunNames(roots.experimentsDir).map((name) => {
    try {
      return summaryOf(roots, readRun(roots.experimentsDir, name));
    } catch (e) {
      // One unreadable run (hand-edited JSON) must not hide the others.
      if (!(e instanceof UserError)) throw e;
      return { name, date: '-', dataset: '-', db_size: '-', ids: '-', phases_done: '-', ia1: null, map10: null, recall100: null, status: `unreadable: ${e.message}`, evaluated: false, checkpoints: checkpointsOf(roots, name) };
    }
  });
}

/** The plots of a run: regular .png files directly in experiments/<run>/plots (no links, and plots/ itself no link). */
export async function plotNames(run: StoredRun): Promise<string[]> {
  const dir = join(run.dir, STORE_FILES.plots);
  if (!existsSync(dir) || !(await lstat(dir)).isDirectory()) return []; // plots/ as a link to elsewhere is not the run's
  const names: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) if (d.isFile() && SAFE_PNG.test(d.name)) names.push(d.name);
  return names.sort();
}

const SAFE_PNG = /^[A-Za-z0-9_-][A-Za-z0-9._-]*\.png$/;

/**
 * A plot's bytes, after checking the name, that it is a regular file (not a link), and that its
 * real path is inside the run's real folder's plots/ (so neither the file nor plots/ may point out).
 */
export async function plotFile(run: StoredRun, name: string): Promise<Buffer> {
  const missing = new NotFound(`no plot "${name}"`);
  if (!SAFE_PNG.test(name)) throw missing;
  const path = join(run.dir, STORE_FILES.plots, name);
  try {
    const inside = join(await realpath(run.dir), STORE_FILES.plots) + sep;
    if (!(await lstat(path)).isFile() || !(await realpath(path)).startsWith(inside)) throw missing;
  } catch {
    throw missing;
  }
  return readFile(path);
}

export async function runDetail(roots: StoreRoots, run: StoredRun) {
  const evalMdPath = join(run.dir, 'eval.md');
  let evalMarkdown: string | null = null;
  if (existsSync(evalMdPath)) evalMarkdown = await readFile(evalMdPath, 'utf8');
  // eval.json is written in snake_case (runtime/json.ts); the renderer reads the camelCase records.
  else if (run.evalReport) evalMarkdown = renderMarkdown(camelCaseKeys<EvalReport>(run.evalReport));
  const report = run.evalReport as Partial<EvalReport> | null;
  const querySource = report?.querySet?.source ?? null;
  return {
    ...summaryOf(roots, run),
    record: run.record,
    config: run.config,
    epochs: run.metrics.length,
    training: keptTrainingMetrics(run.metrics),
    plots: await plotNames(run),
    evalMarkdown,
    evalQuerySource: querySource,
  };
}

/** `dsi eval --queries DIR` records its query set as "folder <DIR>": that folder can be browsed too. */
export function evaluatedFolder(run: StoredRun): string | null {
  const source = (run.evalReport as Partial<EvalReport> | null)?.querySet?.source;
  return typeof source === 'string' && source.startsWith('folder ') ? source.slice('folder '.length) : null;
}

export async function compare(roots: StoreRoots, names: string[]) {
  if (names.length < 2) throw new UserError('compare needs two runs');
  const runs = names.map((n) => storedRun(roots, n));
  return {
    ...compareRuns(runs),
    summaries: runs.map((r) => summaryOf(roots, r)),
    plots: await Promise.all(runs.map(async (r) => ({ run: r.name, plots: await plotNames(r) }))),
  };
}

export async function compareCurves(roots: StoreRoots, names: string[]): Promise<string> {
  const runs = names.map((n) => storedRun(roots, n)).filter((r) => r.metrics.length);
  if (runs.length === 0) throw new NotFound('none of these runs has per-epoch metrics');
  return renderSvg(compareCurvesSpec(runs.map((r) => ({ run: r.name, rows: r.metrics }))));
}
