/**
 * The per-model metrics of an eval.json (`dsi eval`), under the names its summary.json uses
 * (`eval/<model>/<metric>`), so the two sources line up in `dsi runs compare`. Everything else in
 * the report (corpus hash, dates, decode settings, query-set description, K values) describes the
 * evaluation, it is not a result, and stays out.
 * Read defensively: eval.json is a user-visible file and older or hand-edited ones exist.
 */

import { snakeCaseKeys } from '../runtime/json.ts';

interface Estimate {
  mean?: unknown;
  low?: unknown;
  high?: unknown;
}

interface ModelEntry {
  kind?: unknown;
  ia?: Record<string, unknown> | null;
  full?: { map_k?: unknown; recall_k?: unknown; map?: Estimate; precision?: Estimate; recall?: Estimate; ndcg?: Estimate } | null;
  reference?: { map_k?: unknown; recall_k?: unknown; ref_map?: unknown; recall?: unknown } | null;
  ms_per_query?: unknown;
}

export function evalReportMetrics(report: unknown): Record<string, number> {
  // eval.json keys are snake_case (older files camelCase): read both.
  const models = (snakeCaseKeys(report) as { models?: unknown } | null)?.models;
  if (!Array.isArray(models)) return {};
  const out: Record<string, number> = {};
  const put = (name: string, value: unknown) => {
    if (typeof value === 'number' && Number.isFinite(value)) out[name] = value;
  };
  for (const m of models as ModelEntry[]) {
    if (!m || typeof m.kind !== 'string') continue;
    const p = `eval/${m.kind}`;
    for (const [k, v] of Object.entries(m.ia ?? {})) put(`${p}/${k}`, v);
    if (m.full) {
      put(`${p}/MAP@${m.full.map_k}`, m.full.map?.mean);
      put(`${p}/P@${m.full.map_k}`, m.full.precision?.mean);
      put(`${p}/Recall@${m.full.recall_k}`, m.full.recall?.mean);
      put(`${p}/nDCG@${m.full.map_k}`, m.full.ndcg?.mean);
    }
    if (m.reference) {
      put(`${p}/ref_MAP@${m.reference.map_k}`, m.reference.ref_map);
      put(`${p}/ref_Recall@${m.reference.recall_k}`, m.reference.recall);
    }
    put(`${p}/ms_per_query`, m.ms_per_query);
  }
  return out;
}

/** The 95% intervals [low, high] of the full protocol's metrics, under the same names. */
export function evalReportIntervals(report: unknown): Record<string, [number, number]> {
  const models = (snakeCaseKeys(report) as { models?: unknown } | null)?.models;
  if (!Array.isArray(models)) return {};
  const out: Record<string, [number, number]> = {};
  const put = (name: string, e: Estimate | undefined) => {
    if (typeof e?.low === 'number' && typeof e.high === 'number') out[name] = [e.low, e.high];
  };
  for (const m of models as ModelEntry[]) {
    if (!m || typeof m.kind !== 'string' || !m.full) continue;
    const p = `eval/${m.kind}`;
    put(`${p}/MAP@${m.full.map_k}`, m.full.map);
    put(`${p}/P@${m.full.map_k}`, m.full.precision);
    put(`${p}/Recall@${m.full.recall_k}`, m.full.recall);
    put(`${p}/nDCG@${m.full.map_k}`, m.full.ndcg);
  }
  return out;
}
