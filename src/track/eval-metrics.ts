/**
 * The per-model metrics of an eval.json (`dsi eval`), under the names its summary.json uses
 * (`eval/<model>/<metric>`), so the two sources line up in `dsi runs compare`. Everything else in
 * the report (corpus hash, dates, decode settings, query-set description, K values) describes the
 * evaluation, it is not a result, and stays out.
 * Read defensively: eval.json is a user-visible file and older or hand-edited ones exist.
 */

interface Estimate {
  mean?: unknown;
}

interface ModelEntry {
  kind?: unknown;
  ia?: Record<string, unknown> | null;
  full?: { mapK?: unknown; recallK?: unknown; map?: Estimate; precision?: Estimate; recall?: Estimate; ndcg?: Estimate } | null;
  reference?: { mapK?: unknown; recallK?: unknown; refMap?: unknown; recall?: unknown } | null;
  msPerQuery?: unknown;
}

export function evalReportMetrics(report: unknown): Record<string, number> {
  const models = (report as { models?: unknown } | null)?.models;
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
      put(`${p}/MAP@${m.full.mapK}`, m.full.map?.mean);
      put(`${p}/P@${m.full.mapK}`, m.full.precision?.mean);
      put(`${p}/Recall@${m.full.recallK}`, m.full.recall?.mean);
      put(`${p}/nDCG@${m.full.mapK}`, m.full.ndcg?.mean);
    }
    if (m.reference) {
      put(`${p}/ref_MAP@${m.reference.mapK}`, m.reference.refMap);
      put(`${p}/ref_Recall@${m.reference.recallK}`, m.reference.recall);
    }
    put(`${p}/ms_per_query`, m.msPerQuery);
  }
  return out;
}
