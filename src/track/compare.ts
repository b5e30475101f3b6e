import { evalReportMetrics } from './eval-metrics.ts';
import { datasetLabel } from '../data/dataset-label.ts';
import { flattenConfig } from './wandb/payload.ts';
import type { StoredRun } from './store.ts';
import type { EpochMetrics, Phase } from './types.ts';

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

export interface RunListRow {
  name: string;
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

/** The last epoch of each phase, as `<phase>/<metric>` plus epochs run and wall time. */
export function finalTrainingMetrics(rows: readonly EpochMetrics[]): Record<string, number> {
  const out: Record<string, number> = {};
  const last = new Map<Phase, EpochMetrics>();
  for (const r of rows) last.set(r.phase, r);
  for (const [phase, r] of last) {
    out[`${phase}/epochs`] = rows.filter((x) => x.phase === phase).length;
    for (const k of ['loss', 'token_accuracy', 'id_accuracy', 'val_loss', 'val_id_accuracy', 'wall_time_s'] as const) {
      const v = r[k];
      if (typeof v === 'number') out[`${phase}/final_${k}`] = v;
    }
  }
  return out;
}

export interface Comparison {
  runs: string[];
  /** Config keys whose values differ between the runs (a missing key is null). */
  config_diff: Record<string, unknown[]>;
  /** Eval metrics and final training metrics, one value per run (null where a run lacks it). */
  metrics: Record<string, Array<number | string | null>>;
}

export function compareRuns(runs: readonly StoredRun[]): Comparison {
  const configs = runs.map((r) => flattenConfig(r.config ?? {}));
  const configKeys = [...new Set(configs.flatMap((c) => Object.keys(c)))].sort();
  const config_diff: Record<string, unknown[]> = {};
  for (const key of configKeys) {
    const values = configs.map((c) => (key in c ? c[key] : null));
    if (new Set(values.map((v) => JSON.stringify(v))).size > 1) config_diff[key] = values;
  }
  const perRun = runs.map((r) => ({ ...evalMetrics(r), ...finalTrainingMetrics(r.metrics) }));
  const metricKeys = [...new Set(perRun.flatMap((m) => Object.keys(m)))].sort();
  const metrics: Record<string, Array<number | string | null>> = {};
  for (const key of metricKeys) metrics[key] = perRun.map((m) => m[key] ?? null);
  return { runs: runs.map((r) => r.name), config_diff, metrics };
}
