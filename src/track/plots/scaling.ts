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

export function scalingPoints(table: ResultsTable): ScalingPoint[] {
  const metrics = table.columns.filter((c) => /^P@\d+$/.test(c) || /^P@\d+ \(OOC\)$/.test(c) || c === 'IA@1');
  const points: ScalingPoint[] = [];
  for (const row of table.rows) {
    for (const metric of metrics) {
      const v = row.values[metric];
      if (!v) continue;
      points.push({
        dataset: row.dataset,
        dbSize: row.dbSize,
        metric,
        model: row.idScheme === '-' ? row.model : `${row.model} (${row.idScheme})`,
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
  const sizes = [...new Set(points.map((p) => p.dbSize))].sort((a, b) => a - b);
  const x = { field: 'dbSize', type: 'quantitative', title: 'DB size (images)', scale: { type: 'log', base: 2, nice: false, padding: 12 }, axis: { values: sizes, format: 'd' } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Retrieval and indexing against DB size (95% intervals)',
    background: 'white',
    data: { values: points },
    facet: { row: { field: 'dataset', title: null }, column: { field: 'metric', title: null, sort: ['P@10', 'P@10 (OOC)', 'IA@1'] } },
    spec: {
      width: 240,
      height: 180,
      layer: [
        {
          mark: { type: 'line', point: true },
          encoding: { x, y: { field: 'mean', type: 'quantitative', title: 'value', scale: { domain: [0, 1] } }, color: { field: 'model', type: 'nominal', title: 'model', legend: { labelLimit: 400 } } },
        },
        {
          mark: { type: 'rule' },
          transform: [{ filter: 'datum.low !== null' }],
          encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color: { field: 'model', type: 'nominal' } },
        },
      ],
    },
    resolve: { scale: { x: 'shared', y: 'shared' } },
  } as unknown as TopLevelSpec;
}
