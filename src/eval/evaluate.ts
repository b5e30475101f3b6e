/**
 * `dsi eval`: BoVW (its index built when missing), the ViT after indexing ("zero-shot") and after
 * fine-tuning ("fine-tuned"), all on the same queries, under the reference protocol, the full
 * protocol or both. Writes experiments/<run>/eval.json and eval.md.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, join, relative, resolve } from 'node:path';
import type { DsiConfig } from '../config/schema.ts';
import { datasetLabel } from '../data/dataset-label.ts';
import { queriesOf } from '../data/types.ts';
import { UserError } from '../runtime/errors.ts';
import { jsonOutput } from '../runtime/json.ts';
import { logToStderr, type Log } from '../runtime/log.ts';
import { busyMachineNote, watchMachineLoad } from '../runtime/machine-load.ts';
import { progressBar } from '../runtime/progress.ts';
import { openRun, type RunOptions } from '../runs/open.ts';
import { createTracker } from '../track/tracker.ts';
import { assertWritable, experimentsRoot } from '../runtime/paths.ts';
import type { Corpus } from '../types.ts';
import { indexingAccuracyAtK } from './metrics.ts';
import { pairedDifferences } from './paired.ts';
import { fullProtocol, referenceProtocol } from './protocols.ts';
import { corpusQueries, folderQueries, indexedQueries, type QuerySet } from './queries.ts';
import { bovwRanker, trainedModelRankers, type Ranker } from './rankers.ts';
import { renderMarkdown } from './report.ts';
import type { EvalReport, EvaluatedCheckpoint, ModelReport, RankedQuery } from './types.ts';
import type { LoadedCheckpoint } from '../runs/checkpoint.ts';

export interface EvalOptions extends RunOptions {
  protocol?: 'reference' | 'full' | 'both';
  /** ImageFolder of outside query images (`--queries DIR`). */
  queriesDir?: string;
  /** `--queries-per-class N`: at most N out-of-corpus images per class of queriesDir (seeded by eval.seed). */
  queriesPerClass?: number;
  experimentsDir?: string;
  /** Leave BoVW out (`--skip-bovw`); otherwise its index is built when missing. */
  skipBovw?: boolean;
  /**
   * `--split val`: score the val queries instead of the test split (where settings such as
   * decode.flip_average are chosen without looking at the test queries). Written to eval-val.*.
   */
  split?: 'test' | 'val';
}

export interface EvalOutcome {
  report: EvalReport;
  markdown: string;
  /** experiments/<run>/ */
  dir: string;
  /** The files written: eval.{json,md}, or eval-queries-<set>.{json,md} for --queries. */
  files: string[];
}

export async function runEvaluation(opts: EvalOptions): Promise<EvalOutcome> {
  const log = opts.log ?? logToStderr;
  assertWritable(opts.experimentsDir ?? experimentsRoot(), 'experiments');
  const opened = await openRun({ ...opts, log });
  const { config, corpus, runName } = opened;
  const protocol = opts.protocol ?? config.eval.protocol;
  const notes = [...opened.notes];
  const topK = Math.max(config.eval.map_k, config.eval.recall_k);

  let queries: QuerySet;
  let allQueries: QuerySet | null = null;
  const split = opts.split ?? 'test';
  if (opts.queriesDir && split !== 'test') throw new UserError('--split and --queries are alternatives: --queries replaces the split');
  if (opts.queriesDir) {
    const { set, unknownClasses } = await folderQueries(opts.queriesDir, corpus, { perClass: opts.queriesPerClass, seed: config.eval.seed });
    queries = set;
    if (set.inCorpus) notes.push(`--queries: ${set.inCorpus} images of the folder are in the corpus and were left out (the query set is out-of-corpus)`);
    if (unknownClasses.length) notes.push(`--queries: folders naming no corpus class were ignored: ${unknownClasses.join(', ')}`);
    if (set.skipped.length) notes.push(`--queries: ${set.skipped.length} unreadable images skipped (e.g. ${set.skipped[0].source}: ${set.skipped[0].reason})`);
  } else {
    const chosen = queriesOf(corpus, split);
    if (chosen.length === 0) throw new UserError(`corpus ${corpus.hash} has no ${split} queries (data.query_split gives the ${split} part none)`);
    queries = corpusQueries(corpus, chosen, `the corpus's ${split} split`);
    if (protocol !== 'reference' && split === 'test') allQueries = corpusQueries(corpus, queriesOf(corpus), 'all corpus queries');
  }

  const rankers: Ranker[] = [];
  if (!opts.skipBovw) {
    // The table compares against the baseline, so a missing BoVW index is built here (cached for next time).
    const onBuild = () => log(`BoVW index for corpus ${corpus.hash} (K=${config.bovw.clusters}) not built yet: building it (--skip-bovw leaves BoVW out)`);
    try {
      rankers.push((await bovwRanker(corpus, config.bovw, { onBuild }, { inWorker: true }))!);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      notes.push(`no BoVW row: ${e.message}`);
    }
  }
  rankers.push(...trainedModelRankers(opened, corpus, config.decode));

  notes.push(...chanceNotes(queries, corpus.indexedRows.length, config.eval.map_k, config.eval.recall_k));
  // BoVW (SIFT in JavaScript) ranks in a worker thread while the ViT rows decode here (wasm): one
  // core each instead of one after the other. It draws no bar of its own beside theirs.
  // What else ran while the models were timed decides how far ms/query can be trusted.
  const loadWatch = watchMachineLoad();
  const scored: ScoredReport[] = new Array(rankers.length);
  const beside = new Map<number, Promise<ScoredReport>>();
  for (const [i, ranker] of rankers.entries()) {
    if (ranker.kind === 'bovw' && rankers.length > 1) {
      const report = evaluateRanker(ranker, queries, allQueries, topK, protocol, config, corpus, log, { quiet: true }).finally(() => ranker.dispose());
      report.catch(() => {}); // awaited below; this keeps a failure before then from going unhandled
      beside.set(i, report);
      continue;
    }
    try {
      scored[i] = await evaluateRanker(ranker, queries, allQueries, topK, protocol, config, corpus, log);
    } finally {
      ranker.dispose();
    }
  }
  for (const [i, report] of beside) scored[i] = await report;
  const load = loadWatch.stop();
  const busy = busyMachineNote(load, 'the ms/query timings');
  if (busy) notes.push(busy);
  const models = scored.map((s) => s.report);
  const paired = protocol !== 'reference' ? pairedDifferences(scored.map((s) => ({ kind: s.report.kind, label: s.report.label, queries: s.queries })), config.eval) : [];

  const summary = {
    train: queriesOf(corpus, 'train').length,
    val: queriesOf(corpus, 'val').length,
    test: queriesOf(corpus, 'test').length,
  };
  const report: EvalReport = {
    format: 'dsi-eval/1',
    run: runName,
    created: new Date().toISOString(),
    protocol,
    corpus: {
      hash: corpus.hash,
      dataset: datasetLabel(config.data),
      dbSize: corpus.records.length,
      indexed: corpus.indexedRows.length,
      queries: summary,
      idScheme: config.data.id_scheme,
    },
    querySet: { source: queries.source, count: queries.count, skipped: queries.skipped.length, ...(queries.inCorpus !== undefined ? { inCorpus: queries.inCorpus } : {}) },
    decode: {
      beamWidth: Math.max(config.decode.beam_width, topK),
      constrained: config.decode.constrained,
      batchSize: config.decode.batch_size,
      backend: opened.backend,
      ...(config.decode.flip_average ? { flipAverage: true } : {}),
    },
    machine: load,
    eval: {
      iaK: config.eval.ia_k,
      mapK: config.eval.map_k,
      mapN: config.eval.map_n,
      recallK: config.eval.recall_k,
      recallN: config.eval.recall_n,
      bootstrap: config.eval.bootstrap,
      seed: config.eval.seed,
    },
    models,
    ...(paired.length ? { paired } : {}),
    checkpoints: [evaluatedCheckpoint('zero-shot', opened.indexing), ...(opened.retrieval ? [evaluatedCheckpoint('fine-tuned', opened.retrieval)] : [])],
    notes,
  };
  const markdown = renderMarkdown(report);
  const dir = join(opts.experimentsDir ?? experimentsRoot(), runName);
  await mkdir(dir, { recursive: true });
  // The run's own result is its test split as trained; each outside query set, the val split and a
  // test-time augmentation the run was not trained with keep files of their own and stay out of
  // summary.json (which `runs list`, `runs compare` and W&B read as the run's result).
  const trainedWithFlip = (opened.retrieval ?? opened.indexing).config.decode?.flip_average ?? false;
  const flipSuffix = config.decode.flip_average !== trainedWithFlip ? (config.decode.flip_average ? '-flip' : '-noflip') : '';
  const base =
    (opts.queriesDir ? `eval-queries-${querySetSlug(opts.queriesDir, opts.queriesPerClass)}` : split === 'val' ? 'eval-val' : 'eval') + flipSuffix;
  await writeFile(join(dir, `${base}.json`), jsonOutput(report, 1));
  await writeFile(join(dir, `${base}.md`), markdown);
  if (base === 'eval') {
    await createTracker(runName, opts.experimentsDir ?? experimentsRoot(), { warn: (m) => log(`warning: ${m}`) }).logSummary(summaryValues(report));
  }
  return { report, markdown, dir, files: [join(dir, `${base}.json`), join(dir, `${base}.md`)] };
}

/**
 * `--queries ../photos/holiday` -> `holiday-3f2a1c`: the folder's name, and a digest of its full
 * path so two `photos/` differ; `--queries-per-class 20` adds `-20pc` (another sample, another file).
 */
function querySetSlug(queriesDir: string, perClass?: number): string {
  const full = resolve(queriesDir);
  const name = basename(full).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40) || 'root';
  const sample = perClass === undefined ? '' : `-${perClass}pc`;
  return `${name}${sample}-${createHash('sha256').update(full).digest('hex').slice(0, 6)}`;
}

function evaluatedCheckpoint(model: EvaluatedCheckpoint['model'], ckpt: LoadedCheckpoint): EvaluatedCheckpoint {
  const t = ckpt.trainer;
  const indexing = ckpt.kind === 'indexing';
  return {
    model,
    kind: indexing ? 'indexing' : 'retrieval',
    phase: indexing ? 'indexing' : 'retrieval',
    epoch: indexing ? (t.indexingEpochsRun ?? t.epoch) : t.epoch,
    step: t.step,
    created: ckpt.created,
  };
}

async function evaluateRanker(
  ranker: Ranker,
  queries: QuerySet,
  allQueries: QuerySet | null,
  topK: number,
  protocol: 'reference' | 'full' | 'both',
  config: DsiConfig,
  corpus: Corpus,
  log: Log,
  opts: { quiet?: boolean } = {},
): Promise<ScoredReport> {
  // Models that never saw queries in training are scored over every corpus query; the test
  // queries are a subset of those, so they are ranked once.
  const neverSawQueries = ranker.kind === 'bovw' || ranker.kind === 'zero-shot';
  const ranked = neverSawQueries && allQueries ? allQueries : queries;
  const bar = opts.quiet ? null : progressBar(`eval ${ranker.label}: ${ranked.source}`, ranked.count, 'query');
  const ranking = await ranker.rank(ranked, topK, (n) => bar?.tick(n));
  bar?.stop();
  const asQueries = (set: QuerySet, lists = ranking.lists): RankedQuery[] =>
    set.keys.map((key, i) => ({ key, ids: lists[i].ids, scores: lists[i].scores, relevant: set.relevant[i] }));
  let evaluated: RankedQuery[];
  if (ranked === queries) {
    evaluated = asQueries(queries);
  } else {
    const byKey = new Map(asQueries(ranked).map((q) => [q.key, q]));
    evaluated = queries.keys.map((k) => byKey.get(k)!);
  }

  let ia: Record<string, number> | null = null;
  // IA needs IDs: BoVW has none, and the dense model finds each indexed image at cosine 1 trivially.
  if (ranker.kind === 'zero-shot' || ranker.kind === 'fine-tuned') {
    const own = indexedQueries(corpus);
    const iaBar = progressBar(`IA ${ranker.label}: indexed images`, own.count, 'image');
    const iaRanking = await ranker.rank(own, Math.max(...config.eval.ia_k), (n) => iaBar.tick(n));
    iaBar.stop();
    ia = {};
    for (const k of config.eval.ia_k) ia[`IA@${k}`] = indexingAccuracyAtK(iaRanking.lists.map((l) => l.ids), own.relevant.map((r) => r[0]), k);
  }
  const report: ModelReport = {
    kind: ranker.kind,
    label: ranker.label,
    ia,
    reference: protocol !== 'full' ? referenceProtocol(evaluated, config.eval) : null,
    full: protocol !== 'reference' ? fullProtocol(evaluated, config.eval) : null,
    fullAllQueries: protocol !== 'reference' && ranked !== queries ? fullProtocol(asQueries(ranked), config.eval) : null,
    msPerQuery: ranking.msPerQuery,
  };
  if (ranking.invalid) report.invalidIdRate = ranking.invalid.count / Math.max(1, ranking.invalid.slots);
  log(`${ranker.label}: ${ranked.count} queries in ${((ranking.msPerQuery * ranked.count) / 1000).toFixed(1)} s`);
  return { report, queries: evaluated };
}

/** A model's report and its rankings of the evaluated queries (for the paired differences). */
interface ScoredReport {
  report: ModelReport;
  queries: RankedQuery[];
}

/** Flat names for summary.json / W&B: `eval/<model>/<metric>`, fine-tuned first (the headline model). */
function summaryValues(r: EvalReport): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  const order = ['fine-tuned', 'zero-shot', 'dense', 'bovw'];
  const models = [...r.models].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  for (const m of models) {
    const p = `eval/${m.kind}`;
    for (const [k, v] of Object.entries(m.ia ?? {})) out[`${p}/${k}`] = v;
    if (m.full) {
      out[`${p}/MAP@${m.full.mapK}`] = m.full.map.mean;
      out[`${p}/P@${m.full.mapK}`] = m.full.precision.mean;
      out[`${p}/Recall@${m.full.recallK}`] = m.full.recall.mean;
      out[`${p}/nDCG@${m.full.mapK}`] = m.full.ndcg.mean;
    }
    if (m.reference) {
      out[`${p}/ref_MAP@${m.reference.mapK}`] = m.reference.refMap;
      out[`${p}/ref_Recall@${m.reference.recallK}`] = m.reference.recall;
    }
    out[`${p}/ms_per_query`] = m.msPerQuery;
  }
  out['eval/protocol'] = r.protocol;
  return Object.fromEntries(Object.entries(out).filter(([, v]) => typeof v === 'string' || Number.isFinite(v)));
}

/** What a random ranking scores, so nobody reads a chance-level number as retrieval. */
function chanceNotes(queries: QuerySet, indexed: number, mapK: number, recallK: number): string[] {
  const withRelevant = queries.relevant.filter((r) => r.length > 0);
  if (withRelevant.length === 0 || indexed === 0) return [];
  const meanRelevantShare = withRelevant.reduce((a, r) => a + r.length / indexed, 0) / withRelevant.length;
  const notes = [
    `chance level (a random ranking of the ${indexed} indexed images): P@${mapK} = ${meanRelevantShare.toFixed(3)}, ` +
      `Recall@${recallK} = ${Math.min(1, recallK / indexed).toFixed(3)}`,
  ];
  if (recallK >= indexed) notes.push(`Recall@${recallK} is 1.0 for any model that returns ${indexed} results: K covers the whole database`);
  return notes;
}
