import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../runtime/errors.ts';
import { jsonOutput } from '../runtime/json.ts';
import { compareRuns, listRow } from './compare.ts';
import { formatTable } from '../runtime/table.ts';
import { compareCurvesSpec } from './plots/curves.ts';
import { renderPng } from './plots/render.ts';
import { writePhaseCurves } from './phase-plots.ts';
import { listRunNames, readRun, writeMediaEntry } from './store.ts';
import { PHASES } from './types.ts';
import { syncRun } from './wandb/sync.ts';
import type { WandbEnv } from './wandb/sink.ts';

/** The logic behind `dsi runs list|compare|sync`; returns the text to print. */
export function runsListText(experimentsDir: string, json: boolean): string {
  const rows = listRunNames(experimentsDir).map((name) => listRow(readRun(experimentsDir, name)));
  if (json) return jsonOutput(rows);
  if (!rows.length) return `no runs in ${experimentsDir}/ yet (dsi train writes them)\n`;
  return formatTable(
    ['run', 'status', 'date', 'dataset', 'DB size', 'IDs', 'phases', 'IA@1', 'MAP@10', 'R@100'],
    rows.map((r) => [r.name, r.status, r.date, r.dataset, r.db_size, r.ids, r.phases_done, r.ia1, r.map10, r.recall100]),
  );
}

export async function runsCompareText(experimentsDir: string, names: string[], opts: { json?: boolean; png?: string }): Promise<string> {
  if (names.length < 2) throw new UserError(`dsi runs compare needs at least two runs (got ${names.length})`);
  const runs = names.map((n) => readRun(experimentsDir, n));
  const cmp = compareRuns(runs);
  let out = '';
  if (opts.png) {
    const withCurves = runs.filter((r) => r.metrics.length);
    if (!withCurves.length) throw new UserError(`--png: none of ${names.join(', ')} has per-epoch metrics (metrics.jsonl) to draw`);
    const path = resolve(opts.png);
    await writeFile(path, await renderPng(compareCurvesSpec(withCurves.map((r) => ({ run: r.name, rows: r.metrics })))));
    out += opts.json ? '' : `curves: ${path}\n`;
  }
  if (opts.json) return jsonOutput({ ...cmp, ...(opts.png ? { png: resolve(opts.png) } : {}) });
  const diffRows = Object.entries(cmp.config_diff).map(([k, v]) => [k, ...v]);
  out += diffRows.length ? `config keys that differ:\n${formatTable(['key', ...cmp.runs], diffRows)}` : 'configs are identical\n';
  const metricRows = Object.entries(cmp.metrics).map(([k, values]) => [k, ...values.map((v, i) => metricCell(v, cmp.intervals[k]?.[i] ?? null, cmp.deltas[k]?.[i] ?? null))]);
  out += metricRows.length
    ? `\nmetrics (training: the kept epoch of each phase; eval: mean [95% interval]; Δ vs ${cmp.runs[0]}):\n${formatTable(['metric', ...cmp.runs], metricRows)}`
    : '\nno metrics recorded yet\n';
  return out;
}

const number = (v: number) => (Number.isInteger(v) ? String(v) : String(+v.toPrecision(3)));

function metricCell(value: number | string | null, interval: [number, number] | null, delta: number | null): string {
  if (value === null) return '-';
  if (typeof value === 'string') return value;
  let cell = number(value);
  if (interval) cell += ` [${number(interval[0])}, ${number(interval[1])}]`;
  if (delta !== null && delta !== 0) cell += ` (Δ ${delta > 0 ? '+' : ''}${number(delta)})`;
  return cell;
}

/**
 * Redraw each run's plots/<phase>-curves.png from its metrics.jsonl and config.yaml (the indexing
 * threshold): for runs drawn before a plotting fix, or copied from another machine. Metrics are
 * only read; a phase without epochs is skipped, not drawn empty.
 */
export async function runsPlotText(experimentsDir: string, names: string[]): Promise<string> {
  if (!names.length) throw new UserError('dsi runs plot needs at least one run');
  const runs = names.map((n) => readRun(experimentsDir, n));
  let out = '';
  for (const run of runs) {
    if (!run.metrics.length) throw new UserError(`${run.dir}: no per-epoch metrics (metrics.jsonl) to draw`);
    const train = run.config?.train as { early_stop_accuracy?: unknown } | undefined;
    const threshold = typeof train?.early_stop_accuracy === 'number' ? train.early_stop_accuracy : undefined;
    for (const phase of PHASES) {
      if (!run.metrics.some((r) => r.phase === phase)) continue;
      const entry = await writePhaseCurves(run.dir, run.name, phase, run.metrics, threshold);
      writeMediaEntry(run.dir, entry);
      out += `${run.name}: ${resolve(run.dir, entry.file)}\n`;
    }
  }
  return out;
}

export async function runsSyncText(experimentsDir: string, name: string, env: WandbEnv): Promise<string> {
  const { identity, rows, source, url } = await syncRun(experimentsDir, name, env);
  return `synced ${name} (${rows} history rows from ${source}) to W&B run ${identity.entity}/${identity.project}/${identity.id}\n${url}\n`;
}
