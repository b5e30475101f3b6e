import type { TopLevelSpec } from 'vega-lite';
import type { EpochMetrics, Phase } from '../types.ts';

/** One point of a training curve, long format: the shape Vega-Lite layers and facets want. */
export interface CurvePoint {
  run: string;
  phase: Phase;
  epoch: number;
  metric: string;
  /** train or val: validation curves are drawn dashed. */
  split: 'train' | 'val';
  value: number;
}

/** Which per-epoch fields go on which chart. */
export const LOSS_FIELDS = ['loss', 'val_loss'] as const;
export const ACCURACY_FIELDS = ['token_accuracy', 'id_accuracy', 'val_token_accuracy', 'val_id_accuracy'] as const;
const ALL_FIELDS = [...LOSS_FIELDS, ...ACCURACY_FIELDS];

/** Metric rows -> long-format points (missing or non-finite values are simply left out). */
export function curvePoints(run: string, rows: readonly EpochMetrics[]): CurvePoint[] {
  const points: CurvePoint[] = [];
  for (const row of rows) {
    for (const metric of ALL_FIELDS) {
      const value = row[metric];
      if (typeof value === 'number' && Number.isFinite(value)) {
        points.push({ run, phase: row.phase, epoch: row.epoch, metric, split: metric.startsWith('val_') ? 'val' : 'train', value });
      }
    }
  }
  return points;
}

function lineChart(title: string, yTitle: string, points: CurvePoint[], colorBy: 'metric' | 'run', dashBy?: 'split'): Record<string, unknown> {
  const dash = dashBy
    ? { strokeDash: { field: dashBy, type: 'nominal', title: dashBy, scale: { domain: ['train', 'val'] }, legend: { symbolType: 'stroke' } } }
    : {};
  return {
    title,
    width: 360,
    height: 220,
    data: { values: points },
    mark: { type: 'line', point: !dashBy && points.length <= 60 ? { size: 20 } : false, clip: true },
    encoding: {
      // Epochs are whole numbers: without these a short run gets ticks at 1.2, 1.4, ...
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } },
      color: { field: colorBy, type: 'nominal', title: colorBy, legend: { symbolType: 'stroke' } },
      ...dash,
    },
  };
}

/** One phase of one run: loss chart beside accuracy chart. */
export function phaseCurvesSpec(run: string, phase: Phase, rows: readonly EpochMetrics[]): TopLevelSpec {
  const points = curvePoints(run, rows.filter((r) => r.phase === phase));
  const loss = points.filter((p) => (LOSS_FIELDS as readonly string[]).includes(p.metric));
  const acc = points.filter((p) => (ACCURACY_FIELDS as readonly string[]).includes(p.metric));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${run}: ${phase} phase`,
    background: 'white',
    hconcat: [lineChart('loss', 'cross-entropy', loss, 'metric'), lineChart('accuracy', 'accuracy', acc, 'metric')],
    // Each chart has its own metrics, so each gets its own colour legend.
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
  } as unknown as TopLevelSpec;
}

/**
 * Several runs overlaid (dsi runs compare --png): one row per phase, loss and exact-ID accuracy,
 * colour = run, dash = train vs validation; runs share one colour scale across all charts.
 */
export function compareCurvesSpec(runs: ReadonlyArray<{ run: string; rows: readonly EpochMetrics[] }>): TopLevelSpec {
  const all = runs.flatMap(({ run, rows }) => curvePoints(run, rows));
  const phases = [...new Set(all.map((p) => p.phase))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `runs: ${runs.map((r) => r.run).join(' vs ')}`,
    background: 'white',
    vconcat: phases.map((phase) => ({
      hconcat: [
        lineChart(`${phase}: loss`, 'cross-entropy', all.filter((p) => p.phase === phase && (p.metric === 'loss' || p.metric === 'val_loss')), 'run', 'split'),
        lineChart(`${phase}: exact-ID accuracy`, 'accuracy', all.filter((p) => p.phase === phase && (p.metric === 'id_accuracy' || p.metric === 'val_id_accuracy')), 'run', 'split'),
      ],
    })),
  } as unknown as TopLevelSpec;
}
