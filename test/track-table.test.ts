import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildResultsTable, readEvalReport, wilson } from '../src/track/table.ts';
import { runsTableText } from '../src/track/table-render.ts';
import { snakeCase } from '../src/runtime/json.ts';
import { scalingPoints, scalingSpec } from '../src/track/plots/scaling.ts';
import { renderPng } from '../src/track/plots/render.ts';
import sharp from 'sharp';

const est = (mean: number, half = 0.05, n = 40) => ({ mean, low: mean - half, high: mean + half, n });
const full = (m: number) => ({ queries: 40, withoutRelevant: 0, mapK: 10, recallK: 100, precision: est(m + 0.1), map: est(m), recall: est(m + 0.2), ndcg: est(m + 0.05) });
const ref = (m: number) => ({ mapK: 10, recallK: 100, refMap: m, recall: m + 0.1, trueMap: m - 0.1, mapQueries: [], recallQueries: [] });

/** An eval.json like `dsi eval --protocol both` writes. */
function report(run: string, dataset: string, dbSize: number, idScheme: string, score: number) {
  return {
    format: 'dsi-eval/1',
    run,
    created: '2025-01-01T00:00:00Z',
    protocol: 'both',
    corpus: { hash: 'abc123', dataset, dbSize, indexed: dbSize / 4, queries: { train: 1, val: 1, test: 1 }, idScheme },
    querySet: { source: 'test split', count: 40, skipped: 0 },
    decode: { beamWidth: 100, constrained: true, batchSize: 16, backend: 'wasm' },
    eval: { iaK: [1, 5], mapK: 10, mapN: 10, recallK: 100, recallN: 10, bootstrap: 1000, seed: 42 },
    models: [
      { kind: 'bovw', label: 'BoVW (SIFT)', ia: null, reference: ref(0.3), full: full(0.25), fullAllQueries: null, msPerQuery: 3 },
      { kind: 'zero-shot', label: 'ViT DSI zero-shot', ia: { 'IA@1': 0.9, 'IA@5': 0.95 }, reference: ref(0.2), full: full(0.15), fullAllQueries: null, msPerQuery: 20 },
      { kind: 'fine-tuned', label: 'ViT DSI fine-tuned', ia: { 'IA@1': score, 'IA@5': 0.99 }, reference: ref(score), full: full(score), fullAllQueries: null, msPerQuery: 21 },
    ],
    notes: [],
  };
}

/** The same report with every key in snake_case, as eval.json may become. */
function snake(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snake);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [/^IA@/.test(k) ? k : snakeCase(k), snake(v)]));
  }
  return value;
}

async function store(runs: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dsi-table-'));
  for (const [name, r] of Object.entries(runs)) {
    await mkdir(join(dir, name), { recursive: true });
    await writeFile(join(dir, name, 'eval.json'), JSON.stringify(r));
  }
  return dir;
}

test('the grid: grouped by dataset and DB size, one row per model, intervals, best in bold, BoVW once per corpus', async () => {
  const dir = await store({
    'nette-512-c': report('nette-512-c', 'frgfm/imagenette', 512, 'clustered', 0.6),
    'nette-512-r': snake(report('nette-512-r', 'frgfm/imagenette', 512, 'random', 0.5)),
    'nette-1024-c': report('nette-1024-c', 'frgfm/imagenette', 1024, 'clustered', 0.4),
    'tiny-c': report('tiny-c', 'zh-plus/tiny-imagenet', 512, 'clustered', 0.3),
  });
  try {
    const runs = ['tiny-c', 'nette-1024-c', 'nette-512-r', 'nette-512-c'];
    const table = buildResultsTable(runs.map((r) => readEvalReport(dir, r)));
    assert.deepEqual(table.columns, ['IA@1', 'IA@5', '"MAP@10" (ref)', 'Recall@100 (ref)', 'MAP@10', 'P@10', 'Recall@100', 'nDCG@10']);
    assert.deepEqual(
      table.rows.map((r) => [r.dataset, r.dbSize, r.kind, r.idScheme, r.run]),
      [
        ['frgfm/imagenette', 512, 'bovw', '-', 'nette-512-c, nette-512-r'], // the snake_case report reads the same
        ['frgfm/imagenette', 512, 'zero-shot', 'clustered', 'nette-512-c'],
        ['frgfm/imagenette', 512, 'zero-shot', 'random', 'nette-512-r'],
        ['frgfm/imagenette', 512, 'fine-tuned', 'clustered', 'nette-512-c'],
        ['frgfm/imagenette', 512, 'fine-tuned', 'random', 'nette-512-r'],
        ['frgfm/imagenette', 1024, 'bovw', '-', 'nette-1024-c'],
        ['frgfm/imagenette', 1024, 'zero-shot', 'clustered', 'nette-1024-c'],
        ['frgfm/imagenette', 1024, 'fine-tuned', 'clustered', 'nette-1024-c'],
        ['zh-plus/tiny-imagenet', 512, 'bovw', '-', 'tiny-c'],
        ['zh-plus/tiny-imagenet', 512, 'zero-shot', 'clustered', 'tiny-c'],
        ['zh-plus/tiny-imagenet', 512, 'fine-tuned', 'clustered', 'tiny-c'],
      ],
    );
    const random = table.rows.find((r) => r.run === 'nette-512-r' && r.kind === 'fine-tuned')!;
    assert.deepEqual(random.values['MAP@10'], { mean: 0.5, low: 0.45, high: 0.55 });
    assert.equal(random.values['"MAP@10" (ref)']!.mean, 0.5);
    assert.equal(random.msPerQuery, 21);
    assert.deepEqual(random.values['IA@1'], wilson(0.5, 128));

    const md = runsTableText(dir, runs, 'md');
    assert.match(md, /### frgfm\/imagenette, DB size 512\n/);
    assert.match(md, /### frgfm\/imagenette, DB size 1024\n/);
    assert.match(md, /### zh-plus\/tiny-imagenet, DB size 512\n/);
    // IA@1 with its Wilson interval over 128 indexed images; zero-shot holds the best IA@1.
    assert.match(md, /\| ViT DSI fine-tuned \| clustered \| 0\.600 \[0\.51, 0\.68\] \| \*\*0\.990 \[0\.95, 1\.00\]\*\* \|/);
    assert.match(md, /\| ViT DSI zero-shot \| clustered \| \*\*0\.900 \[0\.84, 0\.94\]\*\* \|/);
    assert.match(md, /\*\*0\.600 \[0\.55, 0\.65\]\*\*/); // MAP@10 best of its group
    assert.match(md, /\| BoVW \(SIFT\) \| - \| - \| - \| 0\.300 \| 0\.400 \| 0\.250 \[0\.20, 0\.30\] \|/);

    const csv = runsTableText(dir, runs, 'csv').trim().split('\n');
    assert.equal(csv.length, 1 + table.rows.length);
    assert.match(csv[0], /^dataset,db_size,model,kind,ids,run,queries,ooc_queries,ms_per_query,IA@1,IA@1 low,IA@1 high,/);
    assert.match(csv.find((l) => l.includes('nette-512-r') && l.includes('fine-tuned'))!, /,0\.5,0\.45,0\.55,/);

    const tex = runsTableText(dir, runs, 'tex');
    assert.match(tex, /\\begin\{tabular\}\{ll c{8}\}|\\begin\{tabular\}\{llcccccccc\}/);
    assert.match(tex, /\\multicolumn\{10\}\{l\}\{\\textit\{zh-plus\/tiny-imagenet, DB size 512\}\}/);
    assert.match(tex, /\\textbf\{0\.600\} \{\\scriptsize \[0\.55, 0\.65\]\}/);
    assert.match(tex, /``MAP@10'' \(ref\)/);
    assert.match(tex, /\\bottomrule\n\\end\{tabular\}\n$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a run without eval.json says how to make one', async () => {
  const dir = await store({});
  try {
    assert.throws(() => runsTableText(dir, ['nothing'], 'md'), /run nothing has no eval\.json.*dsi eval --run nothing --protocol both/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('out-of-corpus queries (dsi eval --queries DIR) appear as (OOC) columns beside the test split', async () => {
  const dir = await store({ 'nette-512-c': report('nette-512-c', 'frgfm/imagenette', 512, 'clustered', 0.6) });
  try {
    const outside = report('nette-512-c', 'frgfm/imagenette', 512, 'clustered', 0.6);
    const withOoc = (r: typeof outside, p: number, inCorpus?: number) => ({
      ...r,
      querySet: { source: 'folder train', count: 300, skipped: 0, ...(inCorpus === undefined ? {} : { inCorpus }) },
      models: r.models.map((m) => ({ ...m, full: { ...m.full, queries: 300, precision: est(p) } })),
    });
    await writeFile(join(dir, 'nette-512-c', 'eval-queries-train-abc123.json'), JSON.stringify(snake(withOoc(outside, 0.42, 512))));
    // A folder evaluated before out-of-corpus filtering existed may hold corpus images: not a column.
    await writeFile(join(dir, 'nette-512-c', 'eval-queries-old-def456.json'), JSON.stringify(withOoc(outside, 0.99)));
    const table = buildResultsTable([readEvalReport(dir, 'nette-512-c')]);
    assert.deepEqual(table.columns.slice(-2), ['MAP@10 (OOC)', 'P@10 (OOC)']);
    const fine = table.rows.find((r) => r.kind === 'fine-tuned')!;
    assert.equal(fine.values['P@10 (OOC)']!.mean, 0.42);
    assert.equal(fine.oocQueries, 300);
    const md = runsTableText(dir, ['nette-512-c'], 'md');
    assert.match(md, /\| 40 \+ 300 OOC \|/);
    assert.match(md, /\(OOC\): over out-of-corpus queries/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the scaling plot joins one corpus per DB size: BoVW on clustered-ID and random-ID corpora are two lines', async () => {
  // The same images in another order give BoVW another k-means sample, hence other numbers.
  const withBovw = (r: ReturnType<typeof report>, p: number) => ({
    ...r,
    models: r.models.map((m) => (m.kind === 'bovw' ? { ...m, full: { ...m.full, precision: est(p) } } : m)),
  });
  const dir = await store({
    'nette-512-c': withBovw(report('nette-512-c', 'frgfm/imagenette', 512, 'clustered', 0.6), 0.2),
    'nette-512-r': withBovw(report('nette-512-r', 'frgfm/imagenette', 512, 'random', 0.5), 0.3),
    'nette-1024-c': withBovw(report('nette-1024-c', 'frgfm/imagenette', 1024, 'clustered', 0.4), 0.25),
    'nette-1024-h': withBovw(report('nette-1024-h', 'frgfm/imagenette', 1024, 'hierarchical', 0.45), 0.25),
    'tiny-c': report('tiny-c', 'zh-plus/tiny-imagenet', 512, 'clustered', 0.3),
  });
  try {
    const table = buildResultsTable(['nette-512-c', 'nette-512-r', 'nette-1024-c', 'nette-1024-h', 'tiny-c'].map((r) => readEvalReport(dir, r)));
    const bovw = scalingPoints(table).filter((p) => p.model.startsWith('BoVW') && p.metric === 'P@10');
    const line = (dataset: string, model: string) => bovw.filter((p) => p.dataset === dataset && p.model === model).map((p) => [p.dbSize, p.mean]);
    // At 1024 the clustered and hierarchical corpora gave one BoVW row: it stays on the clustered line.
    assert.deepEqual(line('frgfm/imagenette', 'BoVW (SIFT) (clustered-ID corpus)'), [[512, 0.2], [1024, 0.25]]);
    assert.deepEqual(line('frgfm/imagenette', 'BoVW (SIFT) (random-ID corpus)'), [[512, 0.3]]);
    assert.equal(table.rows.find((r) => r.kind === 'bovw' && r.dbSize === 1024)!.corpusIds, 'clustered/hierarchical');
    // A dataset with one corpus per size keeps the plain name.
    assert.deepEqual(line('zh-plus/tiny-imagenet', 'BoVW (SIFT)'), [[512, 0.25 + 0.1]]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the scaling plot: P@10 and IA@1 per model against DB size, with intervals, as a PNG', async () => {
  const dir = await store({
    'nette-512-c': report('nette-512-c', 'frgfm/imagenette', 512, 'clustered', 0.6),
    'nette-1024-c': report('nette-1024-c', 'frgfm/imagenette', 1024, 'clustered', 0.4),
    'coco-106': report('coco-106', 'coco', 106, 'clustered', 0.5),
  });
  try {
    const table = buildResultsTable(['nette-512-c', 'nette-1024-c'].map((r) => readEvalReport(dir, r)));
    const points = scalingPoints(table);
    const fine = points.filter((p) => p.model === 'ViT DSI fine-tuned (clustered)' && p.metric === 'P@10');
    assert.deepEqual(fine.map((p) => [p.dbSize, p.mean]), [[512, 0.7], [1024, 0.5]]);
    assert.ok(fine.every((p) => p.low !== null && p.high !== null && p.low < p.mean && p.mean < p.high), 'fine.every((p) => p.low !== null && p.high !== null && p.low < p.mean && p.mean < p.high)');
    assert.deepEqual(points.filter((p) => p.metric === 'IA@1' && p.model.startsWith('BoVW')), [], 'BoVW has no IA');
    // Each dataset's charts span its own DB sizes only, and show only the metrics it has.
    const coco = buildResultsTable([...['nette-512-c', 'nette-1024-c'].map((r) => readEvalReport(dir, r)), readEvalReport(dir, 'coco-106')]);
    const rows = (scalingSpec(coco) as unknown as { vconcat: { hconcat: { title: string; layer: { encoding: { x: { axis: { values: number[] } } } }[] }[] }[] }).vconcat;
    const charts = rows.map((r) => r.hconcat.map((c) => `${c.title} ${c.layer[0].encoding.x.axis.values.join('/')}`));
    assert.deepEqual(charts, [
      ['coco: P@10 106', 'coco: IA@1 106'],
      ['frgfm/imagenette: P@10 512/1024', 'frgfm/imagenette: IA@1 512/1024'],
    ]);
    const png = await renderPng(scalingSpec(table));
    const meta = await sharp(png).metadata();
    assert.equal(meta.format, 'png');
    assert.ok(meta.width! > 400 && meta.height! > 200, `${meta.width}x${meta.height}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the dense dual encoder has no IDs: its row says "-" whatever scheme the run used', async () => {
  const r = report('nette-dsi', 'frgfm/imagenette', 512, 'hierarchical', 0.6);
  r.models.push({ ...r.models[0], kind: 'dense', label: 'Dense dual encoder (cosine)' });
  const dir = await store({ 'nette-dsi': r });
  try {
    const rows = buildResultsTable([readEvalReport(dir, 'nette-dsi')]).rows;
    assert.equal(rows.find((x) => x.kind === 'dense')!.idScheme, '-');
    assert.equal(rows.find((x) => x.kind === 'fine-tuned')!.idScheme, 'hierarchical');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('paired differences in eval.json (test split and out of corpus, either key spelling) reach the DSI rows, keyed by baseline and column', async () => {
  const pair = (a: string, b: string, mean: number, verdict: string) => ({ a, b, labelA: a, labelB: b, queries: 40, mapK: 10, precision: est(mean, 0.03), map: est(mean, 0.04), verdict });
  const r = { ...report('nette-dsi', 'frgfm/imagenette', 512, 'hierarchical', 0.6), paired: [pair('fine-tuned', 'bovw', 0.2, 'above'), pair('zero-shot', 'bovw', 0.01, 'level')] };
  const dir = await store({ 'nette-dsi': r });
  const ooc = { ...report('nette-dsi', 'frgfm/imagenette', 512, 'hierarchical', 0.6), querySet: { source: 'folder', count: 300, skipped: 0, inCorpus: 12 }, paired: [pair('fine-tuned', 'bovw', -0.1, 'below')] };
  await writeFile(join(dir, 'nette-dsi', 'eval-queries-x.json'), JSON.stringify(snake(ooc)));
  try {
    const rows = buildResultsTable([readEvalReport(dir, 'nette-dsi')]).rows;
    const fineTuned = rows.find((x) => x.kind === 'fine-tuned')!;
    assert.deepEqual(fineTuned.paired, {
      'bovw P@10': { mean: 0.2, low: 0.17, high: 0.23, verdict: 'above' },
      'bovw P@10 (OOC)': { mean: -0.1, low: -0.13, high: -0.07, verdict: 'below' },
    });
    assert.deepEqual(Object.keys(rows.find((x) => x.kind === 'zero-shot')!.paired ?? {}), ['bovw P@10']);
    assert.equal(rows.find((x) => x.kind === 'bovw')!.paired, undefined, 'a baseline row carries no pairs');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the grid beside the reference: its published rows head each Imagenette group of a DB size it reported, never bold', async () => {
  const { withReferenceRows } = await import('../src/grid/reference-rows.ts');
  const { renderResultsTable } = await import('../src/track/table-render.ts');
  const dir = await store({
    'nette-1024-c': report('nette-1024-c', 'imagenette-224-train', 1024, 'clustered', 0.25),
    'nette-4096-c': report('nette-4096-c', 'imagenette-224-train', 4096, 'clustered', 0.4),
    'tiny-c': report('tiny-c', 'zh-plus/tiny-imagenet', 1024, 'clustered', 0.3),
  });
  try {
    const table = withReferenceRows(buildResultsTable(['nette-1024-c', 'nette-4096-c', 'tiny-c'].map((r) => readEvalReport(dir, r))));
    const nette1024 = table.rows.filter((r) => r.dataset === 'imagenette-224-train' && r.dbSize === 1024);
    assert.deepEqual(nette1024.slice(0, 5).map((r) => [r.run, r.model, r.idScheme]), [
      ['REFERENCE.md', 'reference paper: BoVW', '-'],
      ['REFERENCE.md', 'reference paper: ViT DSI zero-shot', 'clustered'],
      ['REFERENCE.md', 'reference paper: ViT DSI zero-shot', 'random'],
      ['REFERENCE.md', 'reference paper: ViT DSI fine-tuned', 'clustered'],
      ['REFERENCE.md', 'reference paper: ViT DSI fine-tuned', 'random'],
    ]);
    assert.equal(nette1024[1].values['IA@1']!.mean, 0.763, 'REFERENCE.md: zero-shot, 1024, clustered, IA@1 0.763');
    assert.equal(nette1024[0].values['"MAP@10" (ref)']!.mean, 0.5);
    assert.equal(table.rows.filter((r) => r.reported && (r.dbSize === 4096 || r.dataset !== 'imagenette-224-train')).length, 0, 'no figures where the reference has none');
    const md = renderResultsTable(table, 'md');
    const section = md.slice(md.indexOf('### imagenette-224-train, DB size 1024'), md.indexOf('### imagenette-224-train, DB size 4096'));
    // The reference's BoVW "MAP@10" 0.50 is above this run's best (BoVW, 0.30) but is a quoted figure, not a measurement.
    assert.match(section, /\| reference paper: BoVW \| - \| - \| - \| 0\.500 \| 0\.825 \|/);
    assert.match(section, /\| BoVW \(SIFT\) \| - \| - \| - \| \*\*0\.300\*\* \|/);
    assert.match(section, /\| reference paper: ViT DSI zero-shot \| clustered \| 0\.763 \| 0\.828 \|/, 'IA@1 0.763 is not bold although above the run\'s 0.25');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
