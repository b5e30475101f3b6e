import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../src/config/load.ts';
import { runsCompareText, runsListText } from '../src/track/commands.ts';
import { compareCurvesSpec, phaseCurvesSpec } from '../src/track/plots/curves.ts';
import { renderSvg } from '../src/track/plots/render.ts';
import { createTracker } from '../src/track/tracker.ts';
import type { EpochMetrics, Phase } from '../src/track/types.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'dsi-store-'));

function row(phase: Phase, epoch: number, scale = 1): EpochMetrics {
  return {
    phase, epoch, loss: (2 * scale) / epoch, token_accuracy: 1 - 0.4 / epoch, id_accuracy: 1 - 0.6 / epoch,
    ...(phase === 'retrieval' ? { val_loss: 2.5 / epoch, val_id_accuracy: 0.5 - 0.2 / epoch } : {}),
    learning_rate: 5e-4, images_per_sec: 200, wall_time_s: epoch * 2,
  };
}

async function writeRun(exp: string, name: string, overrides: string[], phases: Array<[Phase, number]>, summary?: Record<string, number>, scale = 1) {
  const warnings: string[] = [];
  const { config } = loadConfig(null, ['tracking.wandb=disabled', ...overrides]);
  const t = createTracker(name, exp, { env: {}, warn: (m) => warnings.push(m) });
  await t.start({ config, corpusHash: 'hash-' + name, backend: 'wasm', resumed: false });
  for (const [phase, n] of phases) {
    for (let e = 1; e <= n; e++) await t.logEpoch(row(phase, e, scale));
    await t.endPhase(phase);
  }
  if (summary) await t.logSummary(summary);
  await t.finish();
  return { dir: t.dir, warnings };
}

test('the store holds config, corpus hash, backend, commit, metrics, summary and a PNG per phase', async () => {
  const exp = tmp();
  const { dir, warnings } = await writeRun(exp, 'run-a', ['data.num_images=1024'], [['indexing', 5], ['retrieval', 3]], { 'eval/ia@1': 0.9 });
  assert.deepEqual(warnings, []);
  const config = parseYaml(readFileSync(join(dir, 'config.yaml'), 'utf8'));
  assert.equal(config.data.num_images, 1024, 'the resolved config, overrides applied');
  assert.equal(config.model.patch_size, 16, 'defaults included');
  const record = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  assert.equal(record.corpus_hash, 'hash-run-a');
  assert.equal(record.backend, 'wasm');
  assert.match(record.git_commit, /^([0-9a-f]{40}|unknown)$/);
  assert.deepEqual(record.phases_done, ['indexing', 'retrieval']);
  assert.ok(record.finished, 'record.finished');
  assert.equal(record.wandb, undefined, 'W&B disabled: nothing about it recorded');
  const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 8);
  const { timestamp, ...last } = lines[7];
  assert.deepEqual(last, row('retrieval', 3));
  assert.ok(typeof timestamp === 'number' && Math.abs(timestamp - Date.now() / 1000) < 600, 'each epoch records when it ended (W&B keeps it on a later sync)');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')), { 'eval/ia@1': 0.9 });
  for (const phase of ['indexing', 'retrieval']) {
    const meta = await sharp(join(dir, 'plots', `${phase}-curves.png`)).metadata();
    assert.equal(meta.format, 'png');
    assert.ok(meta.width! > 800 && meta.height! > 300, `${phase} plot is ${meta.width}x${meta.height}`);
    const stats = await sharp(join(dir, 'plots', `${phase}-curves.png`)).stats();
    assert.ok(stats.channels[0].stdev > 10, 'the plot is not blank');
  }
  assert.ok(!existsSync(join(dir, 'wandb-offline')), '!existsSync(join(dir, \'wandb-offline\'))');
});

test('logSummary from another process (dsi eval) replaces the earlier eval keys in summary.json (no stale metric survives a re-run)', async () => {
  const exp = tmp();
  await writeRun(exp, 'r', [], [['indexing', 2]], { 'eval/ia@1': 0.5, 'eval/ia@5': 0.7 });
  const evalTracker = createTracker('r', exp, { env: {} });
  await evalTracker.logSummary({ 'eval/ia@1': 0.8, 'eval/map@10': 0.3 });
  assert.deepEqual(JSON.parse(readFileSync(join(exp, 'r', 'summary.json'), 'utf8')), { 'eval/ia@1': 0.8, 'eval/map@10': 0.3 });
});

test('a resumed run keeps its history; a fresh run under an old name starts over', async () => {
  const exp = tmp();
  const { config } = loadConfig(null, ['tracking.wandb=offline']);
  const first = createTracker('r', exp, { env: {} });
  await first.start({ config, corpusHash: 'h', backend: 'cpu', resumed: false });
  await first.logEpoch(row('indexing', 1));
  await first.logEpoch(row('indexing', 2));
  const resumed = createTracker('r', exp, { env: {} });
  await resumed.start({ config, corpusHash: 'h', backend: 'cpu', resumed: true });
  await resumed.logEpoch(row('indexing', 3));
  await resumed.finish();
  const history = readFileSync(join(exp, 'r', 'wandb-offline', 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(history.map((h) => h._step), [0, 1, 2], 'steps continue after a resume');
  assert.equal(readFileSync(join(exp, 'r', 'metrics.jsonl'), 'utf8').trim().split('\n').length, 3);
  const fresh = createTracker('r', exp, { env: {} });
  await fresh.start({ config, corpusHash: 'h', backend: 'cpu', resumed: false });
  await fresh.logEpoch(row('indexing', 1));
  assert.equal(readFileSync(join(exp, 'r', 'metrics.jsonl'), 'utf8').trim().split('\n').length, 1);
});

test('runs list: dataset, DB size, IDs, phases and headline metrics (eval.json tolerated or absent)', async () => {
  const exp = tmp();
  await writeRun(exp, 'zero-shot', ['data.num_images=2048', 'data.id_scheme=random'], [['indexing', 3]], { 'eval/zero-shot/IA@1': 0.533, 'eval/zero-shot/ref_MAP@10': 0.5, 'eval/zero-shot/MAP@10': 0.06, 'eval/zero-shot/Recall@100': 0.16, 'eval/zero-shot/ref_Recall@100': 0.9 });
  await writeRun(exp, 'no-eval', ['data.source=coco', 'data.root=/data/coco'], [['indexing', 2], ['retrieval', 1]]);
  await writeRun(exp, 'eval-json', [], [['indexing', 1]]);
  writeFileSync(join(exp, 'eval-json', 'eval.json'), JSON.stringify({ reference: { 'IA@1': 0.415, 'MAP@10': 0.32, 'Recall@100': 0.58 } }));
  const text = runsListText(exp, false);
  const lines = text.trim().split('\n');
  assert.match(lines[0], /^run\s+status\s+date\s+dataset\s+DB size\s+IDs\s+phases\s+IA@1\s+MAP@10\s+R@100$/);
  const line = (name: string) => lines.find((l) => l.startsWith(name + ' '))!.split(/\s{2,}/);
  assert.deepEqual(line('zero-shot').slice(3), ['imagenette', '2048', 'random', 'indexing', '0.533', '0.06', '0.16']);
  assert.deepEqual(line('no-eval').slice(3), ['coco', '512', 'clustered', 'indexing+retrieval', '-', '-', '-']);
  assert.deepEqual(line('eval-json').slice(-3), ['0.415', '0.32', '0.58']);
  const json = JSON.parse(runsListText(exp, true));
  assert.equal(json.length, 3);
  assert.equal(json.find((r: { name: string }) => r.name === 'zero-shot').ia1, 0.533);
  assert.match(runsListText(tmp(), false), /no runs/);
});

/** An eval.json as `dsi eval` writes it (trimmed): metadata around a list of per-model results. */
const EVAL_REPORT = {
  format: 'dsi-eval/1', run: 'a', created: '2026-01-01T00:00:00.000Z', protocol: 'both',
  corpus: { hash: 'e1871fa9cf0b814e', dataset: 'imagenette', dbSize: 512, indexed: 128, queries: { train: 308, val: 38, test: 38 }, idScheme: 'clustered' },
  querySet: { source: "the corpus's test split", count: 38, skipped: 0 },
  decode: { beamWidth: 100, constrained: true, batchSize: 16, backend: 'wasm' },
  eval: { iaK: [1, 5], mapK: 10, mapN: 10, recallK: 100, recallN: 10, bootstrap: 1000, seed: 42 },
  models: [
    {
      kind: 'bovw', label: 'BoVW', ia: null,
      reference: { mapK: 10, recallK: 100, refMap: 0.16, recall: 0.87, trueMap: 0.069, mapQueries: ['row:1'], recallQueries: ['row:2'] },
      full: {
        queries: 38, withoutRelevant: 0, mapK: 10, recallK: 100,
        precision: { mean: 0.16, low: 0.12, high: 0.19, n: 38 }, map: { mean: 0.07, low: 0.05, high: 0.09, n: 38 },
        recall: { mean: 0.84, low: 0.79, high: 0.89, n: 38 }, ndcg: { mean: 0.17, low: 0.13, high: 0.21, n: 38 },
      },
      fullAllQueries: null, msPerQuery: 54.6,
    },
    { kind: 'zero-shot', label: 'ViT DSI zero-shot', ia: { 'IA@1': 1, 'IA@5': 1 }, reference: null, full: null, fullAllQueries: null, msPerQuery: 1408 },
  ],
  notes: ['chance level ...'],
};

test('runs compare: differing config keys, metrics side by side, --json, --png with overlaid curves', async () => {
  const exp = tmp();
  await writeRun(exp, 'a', ['data.id_scheme=clustered'], [['indexing', 4], ['retrieval', 3]], { 'eval/ia@1': 0.8 });
  await writeRun(exp, 'b', ['data.id_scheme=random', 'train.learning_rate=0.001'], [['indexing', 6]], { 'eval/ia@1': 0.7 }, 2);
  writeFileSync(join(exp, 'a', 'eval.json'), JSON.stringify(EVAL_REPORT));
  const png = join(exp, 'cmp.png');
  const cmp = JSON.parse(await runsCompareText(exp, ['a', 'b'], { json: true, png }));
  assert.deepEqual(cmp.runs, ['a', 'b']);
  assert.deepEqual(cmp.config_diff, { 'data.id_scheme': ['clustered', 'random'], 'train.learning_rate': [0.0005, 0.001] });
  assert.deepEqual(cmp.metrics['eval/ia@1'], [0.8, 0.7]);
  // eval.json: per-model results, named as summary.json names them; its metadata is no metric.
  assert.deepEqual(cmp.metrics['eval/bovw/MAP@10'], [0.07, null]);
  assert.deepEqual(cmp.metrics['eval/bovw/ref_Recall@100'], [0.87, null]);
  assert.deepEqual(cmp.metrics['eval/zero-shot/IA@1'], [1, null]);
  const metadata = Object.keys(cmp.metrics).filter((k) => /^(format|run|created|protocol|notes|corpus\.|querySet\.|decode\.|eval\.)/.test(k));
  assert.deepEqual(metadata, [], 'eval.json metadata is not listed as metrics');
  for (const key of ['corpus.hash', 'created', 'decode.backend', 'eval.seed', 'format', 'querySet.source']) assert.ok(!(key in cmp.metrics), key);
  assert.deepEqual(cmp.metrics['indexing/epochs'], [4, 6]);
  assert.deepEqual(cmp.metrics['retrieval/kept_val_loss'], [2.5 / 3, null], 'a run without phase 2 shows null');
  const meta = await sharp(png).metadata();
  assert.ok(meta.width! > 800 && meta.height! > 600, 'two phase rows of charts');
  const text = await runsCompareText(exp, ['a', 'b'], {});
  assert.match(text, /data\.id_scheme\s+clustered\s+random/);
  assert.match(text, /eval\/ia@1\s+0\.8\s+0\.7/);
  assert.ok(!text.includes('model.embed_dim'), 'equal keys are not listed');
  await assert.rejects(runsCompareText(exp, ['a'], {}), /at least two runs/);
  await assert.rejects(runsCompareText(exp, ['a', 'missing'], {}), /run "missing" not found .*runs: a, b/);
});

/** The tick labels of every x axis in a rendered chart. */
function xTickLabels(svg: string): string[][] {
  return svg.split('aria-label="X-axis').slice(1).map((axis) => {
    const labels = axis.slice(axis.indexOf('role-axis-label'), axis.indexOf('role-axis-title'));
    return [...labels.matchAll(/>([^<]*)<\/text>/g)].map((m) => m[1]);
  });
}

test('curve charts tick whole epochs only, even for a 3-epoch run', async () => {
  const rows = [1, 2, 3].map((e) => row('indexing', e)).concat([1, 2, 3].map((e) => row('retrieval', e)));
  const phase = xTickLabels(await renderSvg(phaseCurvesSpec('tiny', 'indexing', rows)));
  assert.deepEqual(phase, [['1', '2', '3'], ['1', '2', '3']]);
  const compared = xTickLabels(await renderSvg(compareCurvesSpec([{ run: 'a', rows }, { run: 'b', rows: rows.slice(0, 2) }])));
  assert.equal(compared.length, 4, 'loss and accuracy for both phases');
  for (const labels of compared) assert.ok(labels.length && labels.every((l) => /^\d+$/.test(l)), `x ticks ${labels.join(', ')}`);
});

test('the dsi runs CLI is wired: list --json and compare --json from bin/dsi.js', async () => {
  const { spawnSync } = await import('node:child_process');
  const exp = tmp();
  await writeRun(exp, 'x', [], [['indexing', 2]], { 'eval/ia@1': 0.25 });
  await writeRun(exp, 'y', ['data.num_images=1024'], [['indexing', 2]]);
  const cli = (...args: string[]) => spawnSync(process.execPath, [join('bin', 'dsi.js'), 'runs', ...args, '--experiments', exp], { cwd: join(import.meta.dirname, '..'), encoding: 'utf8' });
  const list = cli('list', '--json');
  assert.equal(list.status, 0, list.stderr);
  assert.deepEqual(JSON.parse(list.stdout).map((r: { name: string; ia1: number | null }) => [r.name, r.ia1]), [['x', 0.25], ['y', null]]);
  const cmp = cli('compare', 'x', 'y', '--json');
  assert.equal(cmp.status, 0, cmp.stderr);
  assert.deepEqual(JSON.parse(cmp.stdout).config_diff, { 'data.num_images': [512, 1024] });
  const missing = cli('sync', 'nope');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /run "nope" not found|WANDB_API_KEY is not set/);
});

test('experiments/README.md is never taken for a run', async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'README.md'), '# the run store\n');
  await assert.rejects(runsCompareText(dir, ['README.md', 'other'], {}), /run "README\.md" not found/);
});
