import { hostname } from 'node:os';
import { evalReportIntervals, evalReportMetrics } from './eval-metrics.ts';
import { datasetLabel } from '../data/dataset-label.ts';
import { flattenConfig } from './wandb/payload.ts';
import type { StoredRun } from './store.ts';
import { PHASES, type EpochMetrics, type Phase } from './types.ts';
import { processAlive } from '../runtime/process.ts';

/**
 * Eval metrics of a run: summary.json (tracker.logSummary) over the per-model results of eval.json
 * (`dsi eval`). Numbers only: strings there (eval/protocol) describe the eval, they are not results.
 */
export function evalMetrics(run: StoredRun): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries({ ...evalReportMetrics(run.evalReport), ...run.summary })) {
    if (typeof v === 'number') out[k] = v;
  }
  return out;
}

// Headline metrics, matched by name so `eval/ia@1`, `ia_1` and `reference.IA@1` all count.
const HEADLINE: Record<'ia1' | 'map10' | 'recall100', RegExp> = {
  ia1: /(^|[^a-z])ia[@_]?1$/i,
  map10: /(^|[^a-z])map[@_]?10$/i,
  recall100: /(^|[^a-z])(recall|r)[@_]?100$/i,
};

/** First numeric metric whose name matches, looking in summary.json before eval.json. */
export function headline(run: StoredRun, which: keyof typeof HEADLINE): number | null {
  const report = run.evalReport && typeof run.evalReport === 'object' ? flattenConfig(run.evalReport) : {};
  for (const source of [run.summary, report]) {
    // `dsi eval` logs both protocols; the reference's sampled numbers (ref_*) only when nothing else exists.
    const hits = Object.entries(source).filter(([k, v]) => HEADLINE[which].test(k) && typeof v === 'number');
    const best = hits.find(([k]) => !/ref/i.test(k)) ?? hits[0];
    if (best) return best[1] as number;
  }
  return null;
}

/** training: its process is still writing; interrupted: it stopped (Ctrl-C, a crash) before finishing. */
export type RunStatus = 'training' | 'interrupted' | 'finished';

export function runStatus(run: StoredRun, alive: (pid: number) => boolean = processAlive): RunStatus {
  const record = run.record;
  if (record?.finished) return 'finished';
  if (record?.pid && record.host === hostname() && alive(record.pid)) return 'training';
  return 'interrupted';
}

export interface RunListRow {
  name: string;
  status: RunStatus;
  date: string;
  dataset: string;
  db_size: number | string;
  ids: string;
  phases_done: string;
  ia1: number | null;
  map10: number | null;
  recall100: number | null;
}

export function listRow(run: StoredRun): RunListRow {
  const data = (run.config?.data ?? {}) as Record<string, unknown>;
  const phases = run.record?.phases_done ?? [...new Set(run.metrics.map((m) => m.phase))];
  return {
    name: run.name,
    status: runStatus(run),
    date: run.record?.started?.slice(0, 16).replace('T', ' ') ?? '-',
    dataset: run.config ? datasetLabel(data) : '-',
    db_size: (data.num_images as number | undefined) ?? '-',
    ids: (data.id_scheme as string | undefined) ?? '-',
    phases_done: phases.length ? phases.join('+') : '-',
    ia1: headline(run, 'ia1'),
    map10: headline(run, 'map10'),
    recall100: headline(run, 'recall100'),
  };
}

/**
 * The epoch whose checkpoint a phase kept: phase 2 rows name it (`best_epoch`, whatever
 * train.select_on chose); older runs kept the best val loss (ties: the earlier epoch, as the
 * trainer did); phase 1 keeps its last epoch.
 */
export function keptEpoch(rows: readonly EpochMetrics[]): EpochMetrics | null {
  const named = rows[rows.length - 1]?.best_epoch;
  if (named !== undefined) return rows.find((r) => r.epoch === named) ?? null;
  let kept: EpochMetrics | null = null;
  for (const r of rows) {
    const better = typeof r.val_loss === 'number' && Number.isFinite(r.val_loss) ? kept?.val_loss === undefined || r.val_loss < kept.val_loss : kept?.val_loss === undefined;
    if (!kept || better) kept = r;
  }
  return kept;
}

/** Per phase: epochs run, the kept epoch and its metrics (`<phase>/kept_<metric>`), the phase's wall time. */
export function keptTrainingMetrics(rows: readonly EpochMetrics[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const phase of PHASES) {
    const own = rows.filter((x) => x.phase === phase);
    const kept = keptEpoch(own);
    if (!kept) continue;
    out[`${phase}/epochs`] = own.length;
    out[`${phase}/kept_epoch`] = kept.epoch;
    for (const k of ['loss', 'token_accuracy', 'id_accuracy', 'val_loss', 'val_id_accuracy', 'clean_id_accuracy', 'val_p10', 'ia'] as const) {
      const v = kept[k];
      if (typeof v === 'number') out[`${phase}/kept_${k}`] = v;
    }
    out[`${phase}/wall_time_s`] = own[own.length - 1].wall_time_s;
  }
  return out;
}

export interface Comparison {
  runs: string[];
  /** Config keys whose values differ between the runs (a missing key is null). */
  config_diff: Record<string, unknown[]>;
  /** Eval metrics and the kept epoch's training metrics, one value per run (null where a run lacks it). */
  metrics: Record<string, Array<number | string | null>>;
  /** 95% bootstrap intervals [low, high] of the eval metrics that have one. */
  intervals: Record<string, Array<[number, number] | null>>;
  /** Each run's value minus the first run's (null for the first run, or where either lacks it). */
  deltas: Record<string, Array<number | null>>;
}

export function compareRuns(runs: readonly StoredRun[]): Comparison {
  const configs = runs.map((r) => flattenConfig(r.config ?? {}));
  const configKeys = [...new Set(configs.flatMap((c) => Object.keys(c)))].sort();
  const config_diff: Record<string, unknown[]> = {};
  for (const key of configKeys) {
    const values = configs.map((c) => (key in c ? c[key] : null));
    if (new Set(values.map((v) => JSON.stringify(v))).size > 1) config_diff[key] = values;
  }
  const perRun: Record<string, number>[] = runs.map((r) => ({ ...evalMetrics(r), ...keptTrainingMetrics(r.metrics) }));
  const perRunIntervals = runs.map((r) => evalReportIntervals(r.evalReport));
  const metricKeys = [...new Set(perRun.flatMap((m) => Object.keys(m)))].sort();
  const metrics: Record<string, Array<number | string | null>> = {};
  const intervals: Comparison['intervals'] = {};
  const deltas: Comparison['deltas'] = {};
  for (const key of metricKeys) {
    const values = perRun.map((m) => m[key] ?? null);
    metrics[key] = values;
    if (perRunIntervals.some((i) => i[key])) intervals[key] = perRunIntervals.map((i) => i[key] ?? null);
    const base = values[0];
    deltas[key] = values.map((v, i) => (i === 0 || v === null || base === null ? null : v - base));
  }
  return { runs: runs.map((r) => r.name), config_diff, metrics, intervals, deltas };
}
