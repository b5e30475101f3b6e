import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { renderPng } from '../track/plots/render.ts';
import { scalingSpec } from '../track/plots/scaling.ts';
import { buildResultsTable, readEvalReport, type ResultsTable } from '../track/table.ts';
import { renderResultsTable } from '../track/table-render.ts';
import { gridFindings } from './findings.ts';
import type { GridRow } from './plan.ts';
import { withReferenceRows } from './reference-rows.ts';
import { staleSettings } from './stale.ts';
import { LOST_EXIT, type StepRecord } from './step-record.ts';

/**
 * The grid's results as the repository keeps them: each finished row's run store (config, logs,
 * metrics, eval.json, curves) copied to experiments/results/<row>/ with its grid log, and from those
 * copies the table (Markdown, CSV, LaTeX), the DB-size plot and the README section. Everything is
 * derived from the copied files, so the README can be checked against them (test/readme.test.ts).
 */

export interface GridResultsPaths {
  /** The checkout: absolute paths under it (and its parent) are written relative in the copies. */
  project?: string;
  /** Where `dsi grid` wrote the runs (experiments/). */
  experiments: string;
  /** Folders of row logs and steps.jsonl (experiments/grid, and any other --logs a runner used). */
  logs: string[];
  /** The committed copies (experiments/results). */
  results: string;
}

/** Copies every finished row into results/; returns the rows that are there (copied now or before). */
export function collectGridRows(rows: readonly GridRow[], paths: GridResultsPaths): string[] {
  const present: string[] = [];
  for (const row of rows) {
    const run = join(paths.experiments, row.name);
    const dest = join(paths.results, row.name);
    if (existsSync(join(run, 'eval.json'))) {
      cpSync(run, dest, { recursive: true });
      const log = paths.logs.map((dir) => join(dir, `${row.name}.log`)).find((f) => existsSync(f));
      if (log) cpSync(log, join(dest, 'grid.log'));
      const steps = paths.logs.flatMap((dir) => stepsOf(dir, row.name));
      if (steps.length) writeFileSync(join(dest, 'steps.jsonl'), steps.map((s) => JSON.stringify(s)).join('\n') + '\n');
      if (paths.project) relativisePaths(dest, paths.project);
    }
    if (existsSync(join(dest, 'eval.json'))) present.push(row.name);
  }
  return present;
}

/**
 * The copies are committed: a development machine's absolute paths (logs name the cache folder,
 * eval reports the query folder) become relative to the checkout ("data/cache/...",
 * "../shared/data/...").
 */
export function relativisePaths(dir: string, project: string): void {
  const parent = dirname(project);
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    if (statSync(file).isDirectory()) {
      relativisePaths(file, project);
      continue;
    }
    if (!/\.(log|md|json|jsonl|yaml)$/.test(name)) continue;
    const text = readFileSync(file, 'utf8');
    const fixed = text.split(`${project}/`).join('').split(`${parent}/`).join('../');
    if (fixed !== text) writeFileSync(file, fixed);
  }
}

function stepsOf(logs: string, row: string): StepRecord[] {
  const file = join(logs, 'steps.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as StepRecord)
    .filter((s) => s.row === row);
}

/** Wall time of the successful steps of a row (from its copied steps.jsonl), by step. */
export function rowWallTimes(results: string, row: string): Record<string, number> {
  const file = join(results, row, 'steps.jsonl');
  if (!existsSync(file)) return {};
  let out: Record<string, number> = {};
  let finished = false;
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const s = JSON.parse(line) as StepRecord;
    // A row run again from scratch (--rerun-stale) starts a new attempt after a finished one:
    // only the last attempt's work made the row's numbers.
    if (finished) out = {};
    // 130: interrupted and resumed later, LOST_EXIT: killed and resumed later (to its last
    // heartbeat); that part of the work counts. Failed steps do not.
    if (s.exit === 0 || s.exit === 130 || s.exit === LOST_EXIT) out[s.step] = (out[s.step] ?? 0) + s.seconds;
    finished = s.step === 'eval' && s.exit === 0;
  }
  return out;
}

/** The README section: which rows are done, the table, the wall times. Pure function of results/. */
export function gridResultsMarkdown(plan: readonly GridRow[], results: string, present: readonly string[]): string {
  if (present.length === 0) return '_No row of configs/grid.yaml has finished yet._';
  const table = withReferenceRows(buildResultsTable(present.map((r) => readEvalReport(results, r))));
  const todo = plan.filter((r) => !present.includes(r.name)).map((r) => `\`${r.name}\``);
  const minutes = (s: number) => (s / 60).toFixed(1);
  const sum = { train: 0, total: 0 };
  const times = present.map((r) => {
    const t = rowWallTimes(results, r);
    const total = Object.values(t).reduce((a, b) => a + b, 0);
    if (total === 0) return `| ${r} | - | - | - |`;
    sum.train += t.train ?? 0;
    sum.total += total;
    return `| ${r} | ${t.train === undefined ? '-' : minutes(t.train)} | ${minutes(total - (t.train ?? 0))} | ${minutes(total)} |`;
  });
  const hours = (s: number) => `${minutes(s)} (${(s / 3600).toFixed(1)} h)`;
  if (present.length > 1) times.push(`| **these ${present.length} rows** | ${hours(sum.train)} | ${minutes(sum.total - sum.train)} | ${hours(sum.total)} |`);
  const stale = plan
    .filter((r) => present.includes(r.name))
    .map((r) => ({ row: r.name, changed: staleSettings(r, results) }))
    .filter((s) => s.changed.length > 0)
    .map((s) => `\`${s.row}\` (${s.changed.join('; ')})`);
  return [
    `Rows of \`configs/grid.yaml\` finished: ${present.length} of ${plan.length}` + (todo.length ? ` (not yet run: ${todo.join(', ')}).` : '.'),
    ...(stale.length ? [`Made with earlier settings than the plan's (stale: \`dsi grid --rerun-stale\` runs them again): ${stale.join(', ')}.`] : []),
    'Generated by `npx tsx scripts/collect-grid.ts` from `experiments/results/<row>/`; plot: `experiments/results/grid-scaling.png`.',
    '',
    renderResultsTable(table, 'md').replace(/^### /gm, '#### '),
    ...findingsSection(table),
    'Wall time per row on this 2-core machine (wasm), minutes (train resumed across sessions counts each part; a part ended by a hard kill counts to its last heartbeat):',
    '',
    '| row | train | BoVW + eval | total |',
    '|---|---|---|---|',
    ...times,
  ].join('\n');
}

/** Writes results/grid.{md,csv,tex} and grid-scaling.png for the present rows. */
export async function writeGridTables(results: string, present: readonly string[]): Promise<void> {
  if (present.length === 0) return;
  const table = buildResultsTable(present.map((r) => readEvalReport(results, r)));
  const compared = withReferenceRows(table);
  for (const format of ['md', 'csv', 'tex'] as const) writeFileSync(join(results, `grid.${format}`), renderResultsTable(compared, format));
  writeFileSync(join(results, 'grid-scaling.png'), await renderPng(scalingSpec(table)));
}

/** What the table says, in sentences (findings.ts), under its own heading. */
function findingsSection(table: ResultsTable): string[] {
  const lines = gridFindings(table);
  if (lines.length === 0) return [];
  return [
    '#### What the rows say (computed from the table; "paired Δ": the difference on the same queries with its 95% bootstrap interval, "above"/"below" when it excludes 0; without it, "above"/"below": the two 95% intervals apart, "level": they overlap)',
    '',
    ...lines,
    '',
  ];
}
