import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import { compareRuns, keptTrainingMetrics, runStatus } from '../src/track/compare.ts';
import { runsCompareText, runsListText, runsPlotText } from '../src/track/commands.ts';
import { compareCurvesSpec, phaseCurvesSpec } from '../src/track/plots/curves.ts';
import { renderSvg } from '../src/track/plots/render.ts';
import { readMedia, readRun, type RunRecord } from '../src/track/store.ts';
import { createTracker } from '../src/track/tracker.ts';
import type { EpochMetrics } from '../src/track/types.ts';
import { tempDir } from './train-fixtures.ts';

const row = (phase: 'indexing' | 'retrieval', epoch: number, valLoss?: number): EpochMetrics => ({
  phase, epoch, loss: 2 / epoch, token_accuracy: 0.5, id_accuracy: epoch / 10, learning_rate: 1e-3, images_per_sec: 10, wall_time_s: epoch,
  ...(valLoss === undefined ? {} : { val_loss: valLoss, val_token_accuracy: 0.4, val_id_accuracy: 0.3 }),
});
const VAL = [3, 2, 1.5, 1.8, 2.2];
const rows = [1, 2, 3].map((e) => row('indexing', e)).concat(VAL.map((v, i) => row('retrieval', i + 1, v)));

test('runs list: a status column, training / interrupted / finished', async () => {
  const dirs = tempDir('runs-status');
  try {
    const { config } = loadConfig(null, ['tracking.wandb=disabled']);
    const finished = createTracker('done', dirs.path, { env: {} });
    await finished.start({ config, corpusHash: 'h', backend: 'cpu', resumed: false });
    await finished.finish();
    const live = createTracker('live', dirs.path, { env: {} });
    await live.start({ config, corpusHash: 'h', backend: 'cpu', resumed: false }); // this process: still alive
    const dead = createTracker('stopped', dirs.path, { env: {} });
    await dead.start({ config, corpusHash: 'h', backend: 'cpu', resumed: false });
    const record = JSON.parse(JSON.stringify(readRun(dirs.path, 'stopped').record)) as RunRecord;
    writeFileSync(join(dirs.path, 'stopped', 'run.json'), JSON.stringify({ ...record, pid: 2 ** 22 + 7 }));
    const json = JSON.parse(runsListText(dirs.path, true)) as { name: string; status: string }[];
    assert.deepEqual(Object.fromEntries(json.map((r) => [r.name, r.status])), { done: 'finished', live: 'training', stopped: 'interrupted' });
    assert.match(runsListText(dirs.path, false).split('\n')[0], /^run\s+status\s+date/);
    assert.equal(runStatus({ record: { pid: process.pid, host: `not-${hostname()}` } } as never), 'interrupted', 'another machine: not ours to probe');
  } finally {
    dirs.cleanup();
  }
});

test('runs compare: the kept (best-val) epoch, eval intervals and deltas', async () => {
  const kept = keptTrainingMetrics(rows);
  assert.equal(kept['retrieval/kept_epoch'], 3);
  assert.equal(kept['retrieval/kept_val_loss'], 1.5);
  assert.equal(kept['retrieval/epochs'], 5);
  assert.equal(kept['indexing/kept_epoch'], 3);
  const evalReport = (map: number) => ({ models: [{ kind: 'bovw', full: { map_k: 10, recall_k: 100, map: { mean: map, low: map - 0.02, high: map + 0.03 } } }] });
  const run = (name: string, map: number) => ({ name, dir: '', record: null, config: {}, metrics: rows, summary: {}, evalReport: evalReport(map) });
  const cmp = compareRuns([run('a', 0.1), run('b', 0.15)]);
  assert.deepEqual(cmp.metrics['eval/bovw/MAP@10'], [0.1, 0.15]);
  assert.deepEqual(cmp.intervals['eval/bovw/MAP@10'], [[0.08, 0.13], [0.13, 0.18]]);
  assert.ok(Math.abs(cmp.deltas['eval/bovw/MAP@10'][1]! - 0.05) < 1e-12, 'Math.abs(cmp.deltas[\'eval/bovw/MAP@10\'][1]! - 0.05) < 1e-12');
  assert.equal(cmp.deltas['eval/bovw/MAP@10'][0], null);

  const dirs = tempDir('runs-compare');
  try {
    for (const [name, map] of [['a', 0.1], ['b', 0.15]] as const) {
      const { config } = loadConfig(null, ['tracking.wandb=disabled']);
      const t = createTracker(name, dirs.path, { env: {} });
      await t.start({ config, corpusHash: 'h', backend: 'cpu', resumed: false });
      for (const r of rows) await t.logEpoch(r);
      await t.finish();
      writeFileSync(join(dirs.path, name, 'eval.json'), JSON.stringify(evalReport(map)));
    }
    const text = await runsCompareText(dirs.path, ['a', 'b'], {});
    assert.match(text, /eval\/bovw\/MAP@10\s+0\.1 \[0\.08, 0\.13\]\s+0\.15 \[0\.13, 0\.18\] \(Δ \+0\.05\)/);
    assert.match(text, /retrieval\/kept_val_loss\s+1\.5\s+1\.5/);
    assert.match(text, /kept epoch/);
  } finally {
    dirs.cleanup();
  }
});

test('runs plot: redraws a stored run\'s curves exactly as training drew them, from metrics.jsonl and config.yaml', async () => {
  const dirs = tempDir('runs-plot');
  try {
    const { config } = loadConfig(null, ['tracking.wandb=disabled', 'train.early_stop_accuracy=0.7']);
    const t = createTracker('r', dirs.path, { env: {} });
    await t.start({ config, corpusHash: 'h', backend: 'cpu', resumed: false });
    for (const r of rows) await t.logEpoch(r);
    await t.endPhase('indexing');
    await t.endPhase('retrieval');
    await t.finish();
    const runDir = join(dirs.path, 'r');
    const drawn = ['indexing', 'retrieval'].map((p) => readFileSync(join(runDir, 'plots', `${p}-curves.png`)));
    const media = readMedia(runDir);
    rmSync(join(runDir, 'plots'), { recursive: true });
    rmSync(join(runDir, 'media.json'));

    const text = await runsPlotText(dirs.path, ['r']);
    assert.match(text, /r: .*indexing-curves\.png\nr: .*retrieval-curves\.png\n$/);
    ['indexing', 'retrieval'].forEach((p, i) => assert.ok(readFileSync(join(runDir, 'plots', `${p}-curves.png`)).equals(drawn[i]), `${p}: the redrawn PNG differs from the one training drew`));
    assert.deepEqual(readMedia(runDir), media, 'media.json lists the curves as training did (same keys, files and steps)');

    // A different threshold in config.yaml changes the indexing drawing: it is read, not assumed.
    writeFileSync(join(runDir, 'config.yaml'), readFileSync(join(runDir, 'config.yaml'), 'utf8').replace(/early_stop_accuracy: 0\.7/, 'early_stop_accuracy: 0.2'));
    await runsPlotText(dirs.path, ['r']);
    assert.ok(!readFileSync(join(runDir, 'plots', 'indexing-curves.png')).equals(drawn[0]), 'the threshold line follows config.yaml');

    const empty = createTracker('empty', dirs.path, { env: {} });
    await empty.start({ config, corpusHash: 'h', backend: 'cpu', resumed: false });
    await assert.rejects(runsPlotText(dirs.path, ['empty']), /empty: no per-epoch metrics \(metrics\.jsonl\)/);
    await assert.rejects(runsPlotText(dirs.path, ['nope']), /run "nope" not found/);
  } finally {
    dirs.cleanup();
  }
});

const legendLabels = (svg: string) => [...svg.matchAll(/role-legend-label[\s\S]*?<\/g>/g)].flatMap((m) => [...m[0].matchAll(/>([^<]+)<\/text>/g)].map((t) => t[1]));

test('compare plot: run names stay whole and unique in the legend', async () => {
  const long = 'imagenette-20260101-120000-replay-lr1e-4';
  const svg = await renderSvg(compareCurvesSpec([{ run: long, rows }, { run: long, rows: rows.slice(0, 4) }]));
  const labels = legendLabels(svg);
  assert.ok(labels.includes(long) && labels.includes(`${long} (2)`), labels.join(' | '));
});

test('phase plots: early-stop threshold, stop epoch and kept checkpoint marked; epochs from 1; train and val of a metric share a colour', async () => {
  const retrieval = await renderSvg(phaseCurvesSpec('r', 'retrieval', rows, { stopEpoch: 5, keptEpoch: 3 }));
  assert.match(retrieval, /stopped: epoch 5/);
  assert.match(retrieval, /kept: epoch 3/);
  const indexing = await renderSvg(phaseCurvesSpec('r', 'indexing', rows, { threshold: 0.98, stopEpoch: 3 }));
  assert.match(indexing, /early stop at 0\.98/);
  const spec = phaseCurvesSpec('r', 'retrieval', rows) as unknown as { hconcat: { layer: { encoding: Record<string, { field: string; scale?: { domainMin?: number } }> }[] }[] };
  const enc = spec.hconcat[0].layer[0].encoding;
  assert.equal(enc.color.field, 'measure', 'loss and val_loss: one colour');
  assert.equal(enc.strokeDash.field, 'split');
  assert.equal(enc.x.scale?.domainMin, 1);
  const xLabels = [...indexing.split('aria-label="X-axis')[1].matchAll(/>(\d+)<\/text>/g)].map((m) => m[1]);
  assert.equal(xLabels[0], '1', `x axis starts at epoch 1 (${xLabels.join(',')})`);
  // The legend lists each metric once (train and val are one colour), not val_loss beside loss.
  assert.ok(!legendLabels(retrieval).includes('val_loss'), '!legendLabels(retrieval).includes(\'val_loss\')');
  // The split legend shows its swatches: a solid and a dashed line, each with a stroke to draw.
  const splitLegend = retrieval.split("titled 'split'")[1].split('role-legend-title')[0];
  const swatches = [...splitLegend.matchAll(/role-legend-symbol[^>]*>\s*<path ([^>]*)>/g)].map((m) => m[1]);
  assert.equal(swatches.length, 2, 'train and val');
  for (const s of swatches) assert.match(s, /stroke="#[0-9a-f]{3,6}"/, `a visible stroke: ${s}`);
  assert.deepEqual(swatches.map((s) => /stroke-dasharray="([^"]+)"/.exec(s)?.[1]), ['1,0', '6,3']);
});
