import type { TopLevelSpec } from 'vega-lite';
import type { ResultsTable } from '../table.ts';

/**
 * How retrieval and indexing scale with the database (`dsi runs table --plot`): P@K and IA@1
 * against DB size, one line per model (and ID scheme), one chart row per dataset, with each
 * point's 95% interval as an error bar. Out-of-corpus P@K gets its own column when the runs have it.
 */
export interface ScalingPoint {
  dataset: string;
  dbSize: number;
  /** "P@10", "P@10 (OOC)" or "IA@1". */
  metric: string;
  model: string;
  mean: number;
  low: number | null;
  high: number | null;
}

/**
 * A line must join one corpus per DB size. A baseline measured on two corpora of one size (the
 * clustered-ID and random-ID runs hold the same images in different orders, so BoVW's k-means
 * sample differs) gets one line per corpus order in that dataset, named after it.
 */
const LINE_ORDER = ['clustered', 'random', 'hierarchical'];

function lineLabel(table: ResultsTable): (row: ResultsTable['rows'][number]) => string {
  const perSize = new Map<string, number>();
  for (const row of table.rows) {
    if (row.idScheme !== '-') continue;
    const key = JSON.stringify([row.dataset, row.model, row.dbSize]);
    perSize.set(key, (perSize.get(key) ?? 0) + 1);
  }
  const split = new Set([...perSize].filter(([, n]) => n > 1).map(([key]) => JSON.stringify((JSON.parse(key) as unknown[]).slice(0, 2))));
  return (row) => {
    if (row.idScheme !== '-') return `${row.model} (${row.idScheme})`;
    if (!split.has(JSON.stringify([row.dataset, row.model]))) return row.model;
    // A row standing for several corpora (same numbers) joins the line of the first in this order,
    // so a size measured on clustered and hierarchical corpora stays on the clustered line.
    const schemes = row.corpusIds.split('/');
    const first = LINE_ORDER.find((s) => schemes.includes(s)) ?? schemes[0];
    return `${row.model} (${first}-ID corpus)`;
  };
}

export function scalingPoints(table: ResultsTable): ScalingPoint[] {
  const metrics = table.columns.filter((c) => /^P@\d+$/.test(c) || /^P@\d+ \(OOC\)$/.test(c) || c === 'IA@1');
  const labelOf = lineLabel(table);
  const points: ScalingPoint[] = [];
  for (const row of table.rows) {
    for (const metric of metrics) {
      const v = row.values[metric];
      if (!v) continue;
      points.push({
        dataset: row.dataset,
        dbSize: row.dbSize,
        metric,
        model: labelOf(row),
        mean: v.mean,
        low: Number.isFinite(v.low) ? v.low : null,
        high: Number.isFinite(v.high) ? v.high : null,
      });
    }
  }
  return points;
}

export function scalingSpec(table: ResultsTable): TopLevelSpec {
  const points = scalingPoints(table);
  const datasets = [...new Set(points.map((p) => p.dataset))];
  const metrics = ['P@10', 'P@10 (OOC)', 'IA@1'];
  const models = [...new Set(points.map((p) => p.model))].sort();
  // One colour per model across every chart (a shared, explicit domain).
  const color = { field: 'model', type: 'nominal', title: 'model', scale: { domain: models }, legend: { labelLimit: 400 } };
  // Each chart gets its own rows (filtered here, not by a Vega transform) so no chart can pick up
  // another's points. The x range is the dataset's own DB sizes (log 2), the same for its charts,
  // so a dataset measured at one size is not squeezed against another dataset's sizes.
  const chart = (dataset: string, metric: string, sizes: number[]) => {
    const values = points.filter((p) => p.dataset === dataset && p.metric === metric);
    const x = {
      field: 'dbSize',
      type: 'quantitative',
      title: 'DB size (images)',
      scale: { type: 'log', base: 2, nice: false, domain: [sizes[0] / 1.5, sizes[sizes.length - 1] * 1.5] },
      axis: { values: sizes, format: 'd' },
    };
    return {
      title: `${dataset}: ${metric}`,
      width: 220,
      height: 170,
      data: { values },
      layer: [
        { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'mean', type: 'quantitative', title: metric, scale: { domain: [0, 1] } }, color } },
        { mark: { type: 'rule' }, encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color } },
      ],
    };
  };
  const rowOf = (dataset: string) => {
    const mine = points.filter((p) => p.dataset === dataset);
    const sizes = [...new Set(mine.map((p) => p.dbSize))].sort((a, b) => a - b);
    // Only the metrics this dataset has (COCO has no out-of-corpus queries: no empty chart).
    return { hconcat: metrics.filter((m) => mine.some((p) => p.metric === m)).map((m) => chart(dataset, m, sizes)) };
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Retrieval and indexing against DB size (95% intervals)',
    background: 'white',
    vconcat: datasets.map(rowOf),
  } as unknown as TopLevelSpec;
}
