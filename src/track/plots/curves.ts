import type { TopLevelSpec } from 'vega-lite';
import type { EpochMetrics, Phase } from '../types.ts';

/** One point of a training curve, long format: the shape Vega-Lite layers and facets want. */
export interface CurvePoint {
  run: string;
  phase: Phase;
  epoch: number;
  metric: string;
  /** The metric without its split: `val_loss` and `loss` are both `loss`, drawn in one colour. */
  measure: string;
  /** train or val: validation curves are drawn dashed. */
  split: 'train' | 'val';
  value: number;
}

/** What a phase chart marks besides its curves. */
export interface PhaseMarks {
  /** Phase 1's early-stop threshold on exact-ID accuracy (train.early_stop_accuracy). */
  threshold?: number;
  /** The epoch the phase stopped at. */
  stopEpoch?: number;
  /** The epoch whose checkpoint was kept (phase 2: by train.select_on). */
  keptEpoch?: number;
}

/** Which per-epoch fields go on which chart. */
export const LOSS_FIELDS = ['loss', 'val_loss'] as const;
// ia, val_p10 (select_on=val_p10) and clean_id_accuracy (early_stop_measure=clean) are 0..1 like the accuracies.
export const ACCURACY_FIELDS = ['token_accuracy', 'id_accuracy', 'val_token_accuracy', 'val_id_accuracy', 'clean_id_accuracy', 'ia', 'val_p10'] as const;
const ALL_FIELDS = [...LOSS_FIELDS, ...ACCURACY_FIELDS];

/** Metric rows -> long-format points (missing or non-finite values are simply left out). */
export function curvePoints(run: string, rows: readonly EpochMetrics[]): CurvePoint[] {
  const points: CurvePoint[] = [];
  for (const row of rows) {
    for (const metric of ALL_FIELDS) {
      const value = row[metric];
      if (typeof value === 'number' && Number.isFinite(value)) {
        const val = metric.startsWith('val_');
        points.push({ run, phase: row.phase, epoch: row.epoch, metric, measure: val ? metric.slice(4) : metric, split: val ? 'val' : 'train', value });
      }
    }
  }
  return points;
}

const RULE_COLOURS = { threshold: '#7a7a7a', stop: '#d12a1f', kept: '#19a34a' };

/** Rules for the marks, each labelled on the chart (a legend of its own would crowd the metrics'). */
function markLayers(marks: PhaseMarks, withThreshold: boolean): Record<string, unknown>[] {
  const layers: Record<string, unknown>[] = [];
  // Labels at the foot of the chart, clear of the early-stop threshold near the top.
  const vertical = (epoch: number, label: string, colour: string, dy: number) => {
    layers.push({ data: { values: [{ epoch }] }, mark: { type: 'rule', color: colour, strokeDash: [2, 2], strokeWidth: 1.5 }, encoding: { x: { field: 'epoch', type: 'quantitative' } } });
    // A white outline under the label first, so it stays legible where a curve runs through it.
    for (const halo of [true, false]) {
      layers.push({
        data: { values: [{ epoch, label }] },
        mark: { type: 'text', color: colour, align: 'right', baseline: 'bottom', dx: -3, dy, fontSize: 10, ...(halo ? { stroke: 'white', strokeWidth: 3, strokeJoin: 'round' } : {}) },
        encoding: { x: { field: 'epoch', type: 'quantitative' }, y: { value: 220 }, text: { field: 'label' } },
      });
    }
  };
  if (marks.stopEpoch !== undefined) vertical(marks.stopEpoch, `stopped: epoch ${marks.stopEpoch}`, RULE_COLOURS.stop, -2);
  if (marks.keptEpoch !== undefined) vertical(marks.keptEpoch, `kept: epoch ${marks.keptEpoch}`, RULE_COLOURS.kept, -16);
  if (withThreshold && marks.threshold !== undefined) {
    layers.push({ data: { values: [{ value: marks.threshold }] }, mark: { type: 'rule', color: RULE_COLOURS.threshold, strokeDash: [6, 3] }, encoding: { y: { field: 'value', type: 'quantitative' } } });
    layers.push({
      data: { values: [{ value: marks.threshold, label: `early stop at ${marks.threshold}` }] },
      mark: { type: 'text', color: RULE_COLOURS.threshold, align: 'left', baseline: 'bottom', x: 3, dy: -2, fontSize: 10 },
      encoding: { y: { field: 'value', type: 'quantitative' }, text: { field: 'label' } },
    });
  }
  return layers;
}

function lineChart(title: string, yTitle: string, points: CurvePoint[], colorBy: 'measure' | 'run', layers: Record<string, unknown>[] = []): Record<string, unknown> {
  const line = {
    data: { values: points },
    mark: { type: 'line', point: points.length <= 60 ? { size: 16 } : false, clip: true },
    encoding: {
      // Epochs are whole numbers counted from 1: without these a short run gets ticks at 1.2, 1.4, ... and an axis from 0.
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' }, scale: { zero: false, domainMin: 1 } },
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } },
      // A metric's train and val curves share a colour; val is dashed. labelLimit 0: run names are never cut short.
      color: { field: colorBy, type: 'nominal', title: colorBy === 'measure' ? 'metric' : 'run', legend: { symbolType: 'stroke', labelLimit: 0 } },
      strokeDash: { field: 'split', type: 'nominal', title: 'split', scale: { domain: ['train', 'val'], range: [[1, 0], [6, 3]] }, legend: {
          symbolType: 'stroke',
          symbolStrokeWidth: 2,
          symbolSize: 300,
          // Vega-Lite leaves a strokeDash legend's symbols without a stroke (symbolStrokeColor is not
          // applied), so the train/val swatches rendered blank: set it on the symbols directly.
          encode: { symbols: { update: { stroke: { value: '#444' } } } },
        },
      },
      detail: { field: 'metric', type: 'nominal' },
    },
  };
  return { title, width: 360, height: 220, layer: [line, ...layers] };
}

/** One phase of one run: loss chart beside accuracy chart, with the early-stop threshold, stop and kept epochs marked. */
export function phaseCurvesSpec(run: string, phase: Phase, rows: readonly EpochMetrics[], marks: PhaseMarks = {}): TopLevelSpec {
  const points = curvePoints(run, rows.filter((r) => r.phase === phase));
  const loss = points.filter((p) => (LOSS_FIELDS as readonly string[]).includes(p.metric));
  const acc = points.filter((p) => (ACCURACY_FIELDS as readonly string[]).includes(p.metric));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${run}: ${phase} phase`,
    background: 'white',
    hconcat: [lineChart('loss', 'cross-entropy', loss, 'measure', markLayers(marks, false)), lineChart('accuracy', 'accuracy', acc, 'measure', markLayers(marks, true))],
    // Each chart has its own metrics, so each gets its own colour legend.
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
  } as unknown as TopLevelSpec;
}

/** Run names as the legend shows them: a name given twice gets " (2)", so every curve stays told apart. */
export function uniqueRunNames(names: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const count = (seen.get(n) ?? 0) + 1;
    seen.set(n, count);
    return count === 1 ? n : `${n} (${count})`;
  });
}

/**
 * Several runs overlaid (dsi runs compare --png): one row per phase, loss and exact-ID accuracy,
 * colour = run, dash = train vs validation; runs share one colour scale across all charts.
 */
export function compareCurvesSpec(runs: ReadonlyArray<{ run: string; rows: readonly EpochMetrics[] }>): TopLevelSpec {
  const names = uniqueRunNames(runs.map((r) => r.run));
  const all = runs.flatMap(({ rows }, i) => curvePoints(names[i], rows));
  const phases = [...new Set(all.map((p) => p.phase))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `runs: ${names.join(' vs ')}`,
    background: 'white',
    vconcat: phases.map((phase) => ({
      hconcat: [
        lineChart(`${phase}: loss`, 'cross-entropy', all.filter((p) => p.phase === phase && p.measure === 'loss'), 'run'),
        lineChart(`${phase}: exact-ID accuracy`, 'accuracy', all.filter((p) => p.phase === phase && p.measure === 'id_accuracy'), 'run'),
      ],
    })),
  } as unknown as TopLevelSpec;
}
