import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { DsiConfig } from '../src/config/schema.ts';
import type { Corpus } from '../src/data/types.ts';
import { runEvaluation, type EvalOptions } from '../src/eval/evaluate.ts';
import { runSearch } from '../src/eval/search.ts';
import { corpusQueries, fileQueries } from '../src/eval/queries.ts';
import { bovwRanker } from '../src/eval/rankers.ts';
import { imagePixels, queriesOf } from '../src/data/types.ts';
import { loadBovwIndex, loadOrBuildBovwIndex, rankByBovw } from '../src/bovw/bovw-index.ts';
import { runEmbed } from '../src/eval/embed.ts';
import { readExternalEmbeddings } from '../src/data/semantic-embeddings.ts';
import { loadConfig, PROJECT_ROOT } from '../src/config/load.ts';
import { prepareCorpus } from '../src/data/corpus.ts';
import type { EvalReport } from '../src/eval/types.ts';
import { renderMarkdown } from '../src/eval/report.ts';
import { camelCaseKeys } from '../src/runtime/json.ts';
import { initBackend } from '../src/runtime/backend.ts';
import { UserError } from '../src/runtime/errors.ts';
import { openRunCorpus } from '../src/runs/open.ts';
import { displayNamesFor } from '../src/data/class-names/display-names.ts';
import { evalReportMetrics } from '../src/track/eval-metrics.ts';
import { cacheCorpus, memorisingConfig, saveRunCheckpoint, trainMemorisingModel } from './helpers/memorised-run.ts';
import { IMAGENETTE, tempDir, tinyCorpus } from './train-fixtures.ts';

process.env.DSI_NO_PROGRESS = '1';
const dirs = tempDir('eval');
const roots = { checkpointsDir: join(dirs.path, 'checkpoints'), cacheRoot: join(dirs.path, 'cache'), experimentsDir: join(dirs.path, 'experiments') };
const quiet = { log: () => {}, backend: 'wasm' as const, skipBovw: true };
let corpus: Corpus;
let config: DsiConfig;

before(async () => {
  const backend = await initBackend('wasm');
  corpus = await tinyCorpus(4, 'a1b2c3d4e5f60718'); // 12 indexed images (3 per class), 4 test queries
  config = memorisingConfig();
  await cacheCorpus(corpus, roots.cacheRoot, config);
  const { indexing, retrieval } = await trainMemorisingModel(corpus, config, backend, 10);
  await saveRunCheckpoint('full', 'indexing', indexing, corpus, config, backend, roots.checkpointsDir);
  await saveRunCheckpoint('full', 'retrieval', retrieval, corpus, config, backend, roots.checkpointsDir);
  await saveRunCheckpoint('phase1', 'indexing', indexing, corpus, config, backend, roots.checkpointsDir);
  await saveRunCheckpoint('unfinished', 'last', indexing, corpus, config, backend, roots.checkpointsDir);
});
after(() => dirs.cleanup());

const evaluate = (o: Partial<EvalOptions>) => runEvaluation({ ...roots, ...quiet, ...o });
const inUnit = (v: number) => v >= 0 && v <= 1;

describe('dsi eval', () => {
  let both: Awaited<ReturnType<typeof evaluate>>;
  before(async () => {
    both = await evaluate({ run: 'full', protocol: 'both' });
  });

  it('scores zero-shot and fine-tuned on the same test queries under both protocols', () => {
    const r = both.report;
    assert.deepEqual(r.models.map((m) => m.kind), ['zero-shot', 'fine-tuned']);
    assert.equal(r.corpus.dbSize, 24);
    assert.equal(r.corpus.indexed, 12);
    assert.equal(r.querySet.count, 4);
    assert.ok(r.machine && r.machine.cores >= 1 && r.machine.seconds > 0 && r.machine.otherCpuShare >= 0, `the machine's load is recorded beside the timings: ${JSON.stringify(r.machine)}`);
    for (const m of r.models) {
      assert.ok(m.reference && m.full, 'm.reference && m.full');
      // map_n = recall_n = 10 but only 4 test queries exist: the sample is all of them
      assert.equal(m.reference.mapQueries.length, 4);
      assert.equal(m.reference.recallQueries.length, 4);
      assert.equal(m.full.queries, 4);
      for (const v of [m.reference.refMap, m.reference.recall, m.full.map.mean, m.full.precision.mean, m.full.recall.mean, m.full.ndcg.mean]) assert.ok(inUnit(v), `${v}`);
      assert.ok(m.full.map.low <= m.full.map.mean && m.full.map.mean <= m.full.map.high, 'm.full.map.low <= m.full.map.mean && m.full.map.mean <= m.full.map.high');
      // K = 100 > 12 indexed images: the whole database is returned, so recall is 1
      assert.equal(m.full.recall.mean, 1);
      assert.ok(m.msPerQuery > 0, 'm.msPerQuery > 0');
    }
  });

  it('records which checkpoint (phase, epoch) each ViT row was read from', () => {
    const ckpts = both.report.checkpoints ?? [];
    assert.deepEqual(ckpts.map((c) => [c.model, c.kind, c.phase]), [['zero-shot', 'indexing', 'indexing'], ['fine-tuned', 'retrieval', 'retrieval']]);
    for (const c of ckpts) assert.ok(Number.isInteger(c.epoch) && Number.isInteger(c.step) && c.created, JSON.stringify(c));
    assert.match(both.markdown, /Checkpoints: zero-shot = indexing \(indexing epoch \d+/);
  });

  it('measures IA@K correctly: a model that memorised its images has IA@1 = 1', () => {
    assert.deepEqual(both.report.models[0].ia, { 'IA@1': 1, 'IA@5': 1 });
  });

  it('scores models that never trained on queries over every corpus query too', () => {
    const [zeroShot, fineTuned] = both.report.models;
    assert.equal(zeroShot.fullAllQueries?.queries, 12);
    assert.equal(fineTuned.fullAllQueries, null);
  });

  it('writes eval.json and eval.md with a table that says what it measures, and a summary', () => {
    const json = JSON.parse(readFileSync(join(both.dir, 'eval.json'), 'utf8')) as EvalReport;
    assert.deepEqual(json.models.map((m) => m.ia), both.report.models.map((m) => m.ia));
    const md = readFileSync(join(both.dir, 'eval.md'), 'utf8');
    assert.match(md, /\| model \| DB size \| IDs \| IA@1 \| IA@5 \| "MAP@10" \(ref\) \| Recall@100 \(ref\) \| MAP@10 \| P@10 \| Recall@100 \| nDCG@10 \| ms\/query \|/);
    assert.match(md, /\| ViT DSI zero-shot \| 24 \| clustered \| 1\.000 \| 1\.000 \|/);
    assert.match(md, /NOT a mean average precision: the mean P@10 over 10 test queries/);
    assert.match(md, /chance level/);
    const summary = JSON.parse(readFileSync(join(both.dir, 'summary.json'), 'utf8'));
    assert.equal(summary['eval/zero-shot/IA@1'], 1);
  });

  it('pairs fine-tuned with zero-shot on the same test queries: eval.json (snake_case) and an eval.md section', () => {
    const [zeroShot, fineTuned] = both.report.models;
    const pairs = both.report.paired ?? [];
    assert.deepEqual(pairs.map((p) => [p.a, p.b, p.queries]), [['fine-tuned', 'zero-shot', 4]]);
    const diff = fineTuned.full!.precision.mean - zeroShot.full!.precision.mean;
    assert.ok(Math.abs(pairs[0].precision.mean - diff) < 1e-12, `ΔP@10 ${pairs[0].precision.mean} is the difference of the two P@10 (${diff})`);
    const json = JSON.parse(readFileSync(join(both.dir, 'eval.json'), 'utf8'));
    assert.equal(json.paired[0].label_a, 'ViT DSI fine-tuned');
    assert.match(both.markdown, /## Paired differences \(A - B on the same 4 queries\)\n\n\| A \| B \| ΔP@10 \| ΔMAP@10 \| A vs B \|/);
    assert.match(both.markdown, /\| ViT DSI fine-tuned \| ViT DSI zero-shot \| [+-]?\d\.\d{3} \[[+-]?\d\.\d{3}, [+-]?\d\.\d{3}\] \|.*\| (above|below|level) \|/);
  });

  it('eval.md can be rebuilt from eval.json alone (snake_case on disk), as dsi serve does when eval.md is gone', () => {
    const onDisk = JSON.parse(readFileSync(join(both.dir, 'eval.json'), 'utf8'));
    assert.ok('query_set' in onDisk && !('querySet' in onDisk), 'eval.json keys are snake_case');
    assert.equal(renderMarkdown(camelCaseKeys<EvalReport>(onDisk)), both.markdown);
  });

  it('is repeatable: the same run and seed give the same numbers', async () => {
    const again = await evaluate({ run: 'full', protocol: 'both' });
    const numbers = (r: EvalReport) => r.models.map((m) => [m.ia, m.reference?.refMap, m.full?.map, m.fullAllQueries?.precision]);
    assert.deepEqual(numbers(again.report), numbers(both.report));
  });

  it('reference protocol alone reports the sampled numbers and true MAP on the same sample', async () => {
    const { report, markdown } = await evaluate({ run: 'full', protocol: 'reference' });
    assert.ok(report.models.every((m) => m.full === null && m.fullAllQueries === null && m.reference), 'report.models.every((m) => m.full === null && m.fullAllQueries === null && m.reference)');
    assert.equal(report.paired, undefined, 'no paired differences without the full protocol');
    assert.match(markdown, /true MAP@10 \(ref sample\)/);
  });

  it('--queries DIR: outside images matched to classes by folder name, unreadable files skipped and counted', async () => {
    const dir = join(dirs.path, 'outside');
    const [first, second] = corpus.classNames;
    for (const wnid of [first, second]) {
      mkdirSync(join(dir, wnid), { recursive: true });
      // files 20 and 21 of the class: not among the 6 per class the corpus took
      for (const name of readdirSync(join(IMAGENETTE, wnid)).sort().slice(20, 22)) copyFileSync(join(IMAGENETTE, wnid, name), join(dir, wnid, name));
    }
    writeFileSync(join(dir, first, 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x01]));
    mkdirSync(join(dir, 'n99999999'));
    const own = ['eval.json', 'eval.md', 'summary.json'].map((f) => readFileSync(join(both.dir, f), 'utf8'));
    const { report, files } = await evaluate({ run: 'full', protocol: 'full', queriesDir: dir });
    // One result per query set: the run's own eval.json / eval.md / summary.json (its test-split result) stay.
    assert.deepEqual(['eval.json', 'eval.md', 'summary.json'].map((f) => readFileSync(join(both.dir, f), 'utf8')), own);
    assert.equal(files.length, 2);
    assert.match(files[0], /eval-queries-outside-[0-9a-f]{6}\.json$/);
    assert.equal((JSON.parse(readFileSync(files[0], 'utf8')) as { query_set: { count: number } }).query_set.count, 4, 'eval JSON files use snake_case keys');
    assert.equal(report.querySet.count, 4);
    assert.equal(report.querySet.skipped, 1);
    assert.ok(report.notes.some((n) => n.includes('n99999999')), 'report.notes.some((n) => n.includes(\'n99999999\'))');
    assert.ok(report.models.every((m) => m.full?.queries === 4 && m.fullAllQueries === null), 'report.models.every((m) => m.full?.queries === 4 && m.fullAllQueries === null)');
  });

  it('--split val scores the val queries and a decode.flip_average override gets its own files: the run\'s own result stays', async () => {
    const own = ['eval.json', 'eval.md', 'summary.json'].map((f) => readFileSync(join(both.dir, f), 'utf8'));
    const val = await evaluate({ run: 'full', protocol: 'full', split: 'val' });
    assert.match(val.files[0], /eval-val\.json$/);
    assert.equal(val.report.querySet.count, queriesOf(corpus, 'val').length);
    assert.match(val.report.querySet.source, /val split/);
    assert.ok(val.report.models.every((m) => m.fullAllQueries === null), 'val.report.models.every((m) => m.fullAllQueries === null)');
    const flip = await evaluate({ run: 'full', protocol: 'full', overrides: ['decode.flip_average=true'] });
    assert.match(flip.files[0], /eval-flip\.json$/);
    assert.equal(flip.report.decode.flipAverage, true);
    assert.match(flip.markdown, /each query also read mirrored/);
    assert.deepEqual(['eval.json', 'eval.md', 'summary.json'].map((f) => readFileSync(join(both.dir, f), 'utf8')), own);
    await assert.rejects(evaluate({ run: 'full', split: 'val', queriesDir: dirs.path }), /--split and --queries/);
  });

  it('dsi search refuses what is not a regular file (/dev/zero would be read without end) and says when it is a folder', async () => {
    await assert.rejects(fileQueries(['/dev/zero'], corpus), (e: Error) => e instanceof UserError && /\/dev\/zero is not a regular file/.test(e.message));
    await assert.rejects(fileQueries([IMAGENETTE], corpus), (e: Error) => e instanceof UserError && /is a folder, not an image/.test(e.message));
  });

  it('explains missing pieces with the command that creates them', async () => {
    await assert.rejects(evaluate({ run: 'nope' }), (e: Error) => e instanceof UserError && /dsi train --config/.test(e.message));
    writeFileSync(join(roots.checkpointsDir, 'README.md'), '# checkpoints\n');
    await assert.rejects(evaluate({ run: 'README.md' }), (e: Error) => e instanceof UserError && /no run "README\.md"/.test(e.message));
    await assert.rejects(evaluate({ run: 'unfinished' }), (e: Error) => e instanceof UserError && /dsi train --resume --run unfinished/.test(e.message));
    const { report } = await evaluate({ run: 'phase1', protocol: 'reference' });
    assert.deepEqual(report.models.map((m) => m.kind), ['zero-shot']);
    assert.ok(report.notes.some((n) => n.includes('dsi train --resume --run phase1')), 'report.notes.some((n) => n.includes(\'dsi train --resume --run phase1\'))');
    // BoVW is built when missing; where it cannot be (K=200 words from a dozen 32 px images), the note says why.
    const withBovw = await runEvaluation({ ...roots, log: () => {}, backend: 'wasm', run: 'phase1', protocol: 'reference' });
    assert.ok(withBovw.report.notes.some((n) => /no BoVW row: .*fewer than bovw\.clusters=200/.test(n)), withBovw.report.notes.join('\n'));
    await assert.rejects(evaluate({ run: 'full', overrides: ['model.embed_dim=64'] }), /only decode, eval, bovw, tracking keys/);
  });
});

describe('dsi search', () => {
  it('ranks image files, marks same-class results and draws a contact sheet', async () => {
    const [wnid] = corpus.classNames;
    const known = join(IMAGENETTE, wnid, readdirSync(join(IMAGENETTE, wnid)).sort()[30]);
    const unknownDir = join(dirs.path, 'loose');
    mkdirSync(unknownDir, { recursive: true });
    const unknown = join(unknownDir, 'photo.jpg');
    copyFileSync(known, unknown);
    const png = join(dirs.path, 'sheet', 'search.png');
    const r = await runSearch({ ...roots, log: () => {}, backend: 'wasm', run: 'full', model: 'vit', k: 5, images: [known, unknown], png });
    assert.equal(r.queries.length, 2);
    const [a, b] = r.queries;
    assert.equal(a.hits.length, 5);
    assert.deepEqual(a.hits.map((h) => h.rank), [1, 2, 3, 4, 5]);
    for (const h of a.hits) assert.equal(h.relevant, h.classes.includes(wnid));
    assert.ok(b.hits.every((h) => h.relevant === null), 'no class known for a loose file');
    assert.match(r.text, /rank\s+ID\s+score\s+source\s+class\s+relevant/);
    assert.ok(existsSync(png), 'existsSync(png)');
    const meta = await sharp(png).metadata();
    assert.equal(meta.format, 'png');
    // The layout fits K: 5 results plus the query make one line of 6 tiles (not 10 empty columns), under a legend.
    assert.ok(meta.width! > 600 && meta.width! < 1000 && meta.height! > 300, `${meta.width}x${meta.height}`);
    assert.deepEqual(displayNamesFor(['n01440764', 'person']), ['tench', 'person'], 'WordNet IDs shown as class names, other names as they are');
    await assert.rejects(runSearch({ ...roots, log: () => {}, run: 'full', model: 'bovw', k: 5, images: [known] }), /dsi bovw --config/);
    await assert.rejects(runSearch({ ...roots, log: () => {}, run: 'full', model: 'vit', k: 5, images: ['/no/such.jpg'] }), /does not exist/);
  });

  it('--model bovw with --config needs no trained run: it searches that config\'s corpus', async () => {
    const cacheRoot = join(dirs.path, 'bovw-only-cache');
    const opts = { checkpointsDir: join(dirs.path, 'no-runs'), cacheRoot, log: () => {}, model: 'bovw' as const, k: 3, configFile: 'quickstart.yaml' };
    const sample = join(PROJECT_ROOT, 'data', 'samples', 'n03000684');
    const image = join(sample, readdirSync(sample).sort()[0]);
    await assert.rejects(runSearch({ ...opts, images: [image] }), /dsi bovw --config quickstart\.yaml/);
    const { config: quickstart } = loadConfig('quickstart.yaml');
    await loadOrBuildBovwIndex(await prepareCorpus(quickstart.data, { cacheRoot }), quickstart.bovw);
    const r = await runSearch({ ...opts, images: [image] });
    // The image is indexed in the embedded corpus: BoVW finds it first, with cosine 1.
    assert.equal(r.queries[0].hits.length, 3);
    assert.equal(r.queries[0].hits[0].source, image);
    assert.ok(Math.abs(r.queries[0].hits[0].score - 1) < 1e-6, 'Math.abs(r.queries[0].hits[0].score - 1) < 1e-6');
  });
});

describe('dsi eval shows BoVW beside the ViT models', () => {
  it('builds the missing BoVW index (saying so), reuses it next time; --skip-bovw leaves it out', async () => {
    const lines: string[] = [];
    const overrides = ['bovw.clusters=8'];
    const first = await runEvaluation({ ...roots, backend: 'wasm', log: (m) => lines.push(m), run: 'phase1', protocol: 'full', overrides });
    assert.deepEqual(first.report.models.map((m) => m.kind), ['bovw', 'zero-shot']);
    assert.ok(lines.some((l) => /BoVW index .* not built yet: building it \(--skip-bovw leaves BoVW out\)/.test(l)), lines.join('\n'));
    assert.match(first.markdown, /\| BoVW \(SIFT, k-means K=8\) \|/);
    lines.length = 0;
    const again = await runEvaluation({ ...roots, backend: 'wasm', log: (m) => lines.push(m), run: 'phase1', protocol: 'full', overrides });
    assert.equal(again.report.models[0].kind, 'bovw');
    assert.ok(!lines.some((l) => l.includes('building it')), '!lines.some((l) => l.includes(\'building it\'))');
    const skipped = await evaluate({ run: 'phase1', protocol: 'full', overrides });
    assert.deepEqual(skipped.report.models.map((m) => m.kind), ['zero-shot']);
  });

  it('dsi embed --model bovw writes the BoVW histograms: indexed images as indexed, others described the same way', async () => {
    // The index built by the test above (bovw.clusters=8) for run phase1's corpus.
    const out = join(dirs.path, 'bovw-emb');
    const emb = await runEmbed({ ...roots, log: () => {}, run: 'phase1', model: 'bovw', images: 'all', out, overrides: ['bovw.clusters=8'] });
    assert.deepEqual([emb.rows, emb.dim], [24, 8]);
    const ext = readExternalEmbeddings(emb.npyPath, emb.namesPath);
    const run = await openRunCorpus({ ...roots, run: 'phase1', overrides: ['bovw.clusters=8'] });
    const index = (await loadBovwIndex(run.corpus, run.config.bovw))!;
    const vec = (i: number) => [...ext.values.subarray(i * 8, (i + 1) * 8)];
    run.corpus.records.forEach((record, i) => {
      const norm = Math.hypot(...vec(i));
      assert.ok(Math.abs(norm - 1) < 1e-5 || norm === 0, `row ${i} is a unit vector (or an image without keypoints)`);
      const id = run.corpus.indexedRows.indexOf(record.row);
      if (id >= 0) assert.deepEqual(vec(i), [...index.unitHistograms.subarray(id * 8, (id + 1) * 8)], `indexed image ${id}`);
    });
    // A query image's vector is what BoVW ranks it with: its nearest indexed image is BoVW's first hit.
    const query = run.corpus.records.findIndex((r) => !run.corpus.indexedRows.includes(r.row));
    const top = rankByBovw(index, imagePixels(run.corpus, run.corpus.records[query].row), run.corpus.imageSize, 1).ids[0];
    const cos = run.corpus.indexedRows.map((_, id) => vec(query).reduce((a, v, j) => a + v * index.unitHistograms[id * 8 + j], 0));
    assert.equal(cos.indexOf(Math.max(...cos)), top);
    await assert.rejects(runEmbed({ ...roots, log: () => {}, run: 'phase1', model: 'bovw', images: 'all', out, overrides: ['bovw.clusters=9'] }), /dsi bovw/);
  });

  it('BoVW ranks the same in its worker thread (beside the ViT in dsi eval) as on this thread', async () => {
    const cfg = { ...config.bovw, clusters: 8 };
    // The fixture corpus lives in memory: its index is cached in the test's own folder.
    const cached = { ...corpus, cachePath: join(dirs.path, 'bovw-worker-cache') };
    assert.ok((await loadOrBuildBovwIndex(cached, cfg)).path, 'a cached index: the worker opens it from its folder');
    const set = corpusQueries(cached, queriesOf(cached), 'all corpus queries');
    const here = (await bovwRanker(cached, cfg))!;
    const there = (await bovwRanker(cached, cfg, undefined, { inWorker: true }))!;
    let progressed = 0;
    const [a, b] = [await here.rank(set, 10, () => {}), await there.rank(set, 10, (n) => (progressed += n))];
    assert.equal(a.lists.length, set.count);
    assert.deepEqual(b.lists, a.lists);
    assert.equal(progressed, set.count);
    assert.ok(b.msPerQuery > 0, 'b.msPerQuery > 0');
  });

  it('eval.json and --json use snake_case keys; runs compare still reads them', () => {
    const json = JSON.parse(readFileSync(join(roots.experimentsDir, 'phase1', 'eval.json'), 'utf8'));
    assert.equal(json.corpus.db_size, 24);
    assert.equal(json.corpus.id_scheme, 'clustered');
    assert.ok(json.models[0].ms_per_query > 0, 'json.models[0].ms_per_query > 0');
    assert.equal(json.models[0].full.map_k, 10);
    assert.equal(JSON.stringify(json).match(/"[a-z]+[A-Z][A-Za-z]*":/)?.[0], undefined, "no camelCase key left");
    const metrics = evalReportMetrics(json);
    assert.ok(typeof metrics['eval/zero-shot/MAP@10'] === 'number' && typeof metrics['eval/zero-shot/ms_per_query'] === 'number', 'typeof metrics[\'eval/zero-shot/MAP@10\'] === \'number\' && typeof metrics[\'eval/zero-shot/ms_per_query\'] === \'number\'');
  });

  it('`dsi bovw --run R` works from the run: its corpus, its data config, bovw keys changeable', async () => {
    const opened = await openRunCorpus({ ...roots, log: () => {}, run: 'full', overrides: ['bovw.clusters=8'] });
    assert.equal(opened.runName, 'full');
    assert.equal(opened.corpus.hash, corpus.hash);
    assert.equal(opened.config.bovw.clusters, 8);
    assert.equal(opened.config.data.image_size, config.data.image_size);
    await assert.rejects(openRunCorpus({ ...roots, log: () => {}, run: 'full', overrides: ['data.image_size=64'] }), /only decode, eval, bovw, tracking keys/);
  });
});
