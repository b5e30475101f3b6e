/**
 * `dsi train`, top to bottom: open the run (fresh, --resume or --from; see src/runs), then the
 * loop. Phase 1 "indexing" (every indexed image -> its own ID, until exact-ID training accuracy
 * stays >= early_stop_accuracy for early_stop_patience epochs), then phase 2 "retrieval" (train
 * queries -> relevant IDs, validated on val queries each epoch; the kept epoch is the best val
 * loss, or under train.select_on=val_p10 the best val P@10 above an IA@1 floor). Test queries are
 * never touched here.
 *
 * Checkpoints: `indexing/` when phase 1 ends, `retrieval/` whenever a better epoch is kept, and a
 * rolling `last/` after every epoch. All randomness (shuffles, ID sampling, dropout seeds) comes
 * from one Rng whose state is in every checkpoint, so a resumed run reaches the same weights as
 * an uninterrupted one.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DsiConfig } from '../config/schema.ts';
import { prepareCorpus, shortfallWarning } from '../data/corpus.ts';
import { queriesOf } from '../data/types.ts';
import { initBackend, type BackendChoice } from '../runtime/backend.ts';
import { UserError } from '../runtime/errors.ts';
import { logToStderr, type Log } from '../runtime/log.ts';
import { progressBar, type Progress } from '../runtime/progress.ts';
import { Rng } from '../runtime/rng.ts';
import { assertCompatible, modelShapeOf, saveCheckpoint, type CheckpointKind, type LoadedCheckpoint } from '../runs/checkpoint.ts';
import { lockRun } from '../runs/lock.ts';
import { resolveTrainingRun, type ResolvedTrainingRun, type TrainingRunRequest } from '../runs/resolve.ts';
import { seedBranchStore } from '../track/branch.ts';
import { writeRunConfig } from '../track/store.ts';
import { createTracker } from '../track/tracker.ts';
import { assertWritable, cacheRoot, checkpointsRoot, experimentsRoot } from '../runtime/paths.ts';
import type { EpochMetrics, RunTracker } from '../track/types.ts';
import type { Corpus, TrainerState } from '../types.ts';
import { augmentImage, augmentOptionsOf, mixSeed } from './augment.ts';
import { isConstant, learningRateAt } from './schedule.ts';
import { indexingItems, jointItems, retrievalItems, validationItems, type ItemPixels } from './batches.ts';
import { createEngine, type TrainingEngine } from './engine/engine.ts';
import { endIndexing, epochLine, finishEpoch, indexAccuracy, trainEpoch, validate, type StepRate } from './epoch.ts';
import { bestRetrievalOf, initialTrainerState, isBetterRetrieval, isBetterValLoss, retrievalPatienceExhausted, updateEarlyStop } from './phases.ts';
import { measureValRetrieval, selectionQueries } from './val-retrieval.ts';
import { keptLine, type Selection } from './summary.ts';

export interface LaunchOptions extends TrainingRunRequest {
  backend?: BackendChoice;
  checkpointsDir?: string;
  experimentsDir?: string;
  cacheRoot?: string;
  signal?: AbortSignal;
  stopAfterEpochs?: number;
  /** Status lines (default: stderr, keeping stdout for results). */
  log?: Log;
}

export interface LaunchResult extends TrainRunResult {
  runName: string;
  backend: string;
  checkpointsDir: string;
  /** experiments/<run>/ */
  experimentsDir: string;
  /** How phase 2 chose its kept epoch (for the summary). */
  selection: Selection;
}

export { evaluateItems } from './epoch.ts';

export async function launchTraining(opts: LaunchOptions): Promise<LaunchResult> {
  const log = opts.log ?? logToStderr;
  const root = opts.checkpointsDir ?? checkpointsRoot();
  const experiments = opts.experimentsDir ?? experimentsRoot();
  assertWritable(root, 'checkpoints');
  assertWritable(experiments, 'experiments');
  assertWritable(opts.cacheRoot ?? cacheRoot(), 'data cache');
  const resolved = await resolveTrainingRun(opts, root, log);
  const lock = await lockRun(join(root, resolved.runName), log);
  try {
    return await trainResolvedRun(opts, resolved, root, log);
  } finally {
    await lock.release();
  }
}

async function trainResolvedRun(opts: LaunchOptions, resolved: ResolvedTrainingRun, root: string, log: Log): Promise<LaunchResult> {
  const { runName, config, resumeFrom, branchedFrom } = resolved;
  const backend = await initBackend(opts.backend ?? 'auto');
  log(`backend: ${backend}`);
  const corpus = await prepareCorpus(config.data, { cacheRoot: opts.cacheRoot });
  log(
    `corpus ${corpus.hash}: ${corpus.records.length} images (${corpus.indexedRows.length} indexed, ` +
      `${corpus.records.length - corpus.indexedRows.length} queries), ${corpus.imageSize}px, IDs of ${corpus.idLength} digits` +
      (corpus.reused ? ' (cached)' : ''),
  );
  const shortfall = shortfallWarning(corpus, config.data);
  if (shortfall) log(`warning: ${shortfall}`);
  if (resumeFrom) assertCompatible(resumeFrom, config, corpus.hash, modelShapeOf(corpus));
  if (branchedFrom && resumeFrom) {
    // The branch owns a copy of the index it starts from, so `dsi eval` finds its zero-shot row.
    await saveCheckpoint(runName, 'indexing', { ...resumeFrom, config }, root);
    seedBranchStore(opts.experimentsDir ?? experimentsRoot(), branchedFrom, runName);
    log(`run: ${runName}, phase 2 from the indexing checkpoint of "${branchedFrom}" (${resumeFrom.trainer.indexingEpochsRun} epochs, exact-ID accuracy ${resumeFrom.trainer.indexingAccuracy?.toFixed(4)})`);
  } else if (resumeFrom) {
    if (resumeFrom.trainer.phase === 'done') {
      const dense = await trainDenseIfWanted(config, corpus, runName, backend, root, log, opts.signal);
      if (!dense) log(`run "${runName}" has already finished both phases; nothing to resume`);
      // `--set train.dense_epochs=N` on a finished run: its store says what the dense model was trained with.
      else {
        const store = join(opts.experimentsDir ?? experimentsRoot(), runName);
        if (existsSync(store)) writeRunConfig(store, config);
      }
      return { runName, backend, checkpointsDir: join(root, runName), experimentsDir: join(opts.experimentsDir ?? experimentsRoot(), runName), selection: config.train, state: resumeFrom.trainer, completed: true, epochsThisCall: 0, checkpointsWritten: dense ? ['dense'] : [] };
    }
    log(`resuming run "${runName}" at ${resumeFrom.trainer.phase} epoch ${resumeFrom.trainer.epoch + 1} (step ${resumeFrom.trainer.step})`);
  } else {
    log(`run: ${runName}`);
  }

  const tracker = createTracker(runName, opts.experimentsDir);
  const result = await trainRun({
    config,
    corpus,
    runName,
    backend,
    tracker,
    checkpointsDir: root,
    resumeFrom,
    branchedFrom,
    signal: opts.signal,
    stopAfterEpochs: opts.stopAfterEpochs,
    log,
  });
  if (result.completed) {
    const dense = await trainDenseIfWanted(config, corpus, runName, backend, root, log, opts.signal);
    if (dense === 'trained') result.checkpointsWritten.push('dense');
    // Stopped inside the dense stage: the run is not finished, and its summary must say how to resume.
    if (dense === 'stopped') result.completed = false;
  }
  return { ...result, runName, backend, checkpointsDir: join(root, runName), experimentsDir: tracker.dir, selection: config.train };
}

/** The dense baseline (train.dense_epochs > 0) once the DSI phases are done, unless the run has it already. */
async function trainDenseIfWanted(config: DsiConfig, corpus: Corpus, runName: string, backend: string, root: string, log: Log, signal?: AbortSignal): Promise<'trained' | 'stopped' | 'not wanted'> {
  if (config.train.dense_epochs === 0 || existsSync(join(root, runName, 'dense', 'checkpoint.json'))) return 'not wanted';
  const { trainDense } = await import('./dense/train.ts');
  return (await trainDense({ config, corpus, runName, backend, checkpointsDir: root, log, signal })).completed ? 'trained' : 'stopped';
}

export interface TrainRunOptions {
  config: DsiConfig;
  corpus: Corpus;
  runName: string;
  /** Resolved backend name (from initBackend); recorded in the run and the checkpoints. */
  backend: string;
  tracker: RunTracker;
  checkpointsDir?: string;
  /** A verified `last` checkpoint to continue from (see loadCheckpoint + assertCompatible). */
  resumeFrom?: LoadedCheckpoint | null;
  /** Set for a branch (`dsi train --from RUN`): resumeFrom is RUN's indexing checkpoint. */
  branchedFrom?: string;
  /** Stops at the next step boundary; the epoch in progress is dropped (last/ holds the one before). */
  signal?: AbortSignal;
  /** Stop after this many epochs in this call (a deliberate interruption, for tests and smoke runs). */
  stopAfterEpochs?: number;
  /** One-line status messages (default: stderr). */
  log?: Log;
  /** Wraps the engine (tests spy on the batches it is given, or abort after a step). */
  wrapEngine?: (engine: TrainingEngine) => TrainingEngine;
}

export interface TrainRunResult {
  state: TrainerState;
  /** False when stopped early by `signal` or `stopAfterEpochs`; resume continues it. */
  completed: boolean;
  epochsThisCall: number;
  checkpointsWritten: CheckpointKind[];
}

export async function trainRun(opts: TrainRunOptions): Promise<TrainRunResult> {
  const { config, corpus, tracker } = opts;
  const train = config.train;
  const log = opts.log ?? logToStderr;
  const root = opts.checkpointsDir ?? checkpointsRoot();
  const shape = modelShapeOf(corpus);
  const state: TrainerState = opts.resumeFrom ? { ...opts.resumeFrom.trainer } : initialTrainerState(train.seed);
  const rng = new Rng(0);
  rng.setState(state.rngState);
  const written = new Set<CheckpointKind>();
  let epochsThisCall = 0;

  if (corpus.indexedRows.length === 0) throw new UserError(`corpus ${corpus.hash} has no indexed images to train on`);
  const created = await createEngine({ model: config.model, train, shape, backend: opts.backend });
  const engine = opts.wrapEngine ? opts.wrapEngine(created) : created;
  log(`engine: ${engine.backend}, ${engine.workers} worker thread(s)`);
  // One bar per phase: its ETA is the phase's (at its maximum epochs), its status the epoch.
  let bar: Progress | null = null;
  const phaseBar = (phase: 'indexing' | 'retrieval', maxEpochs: number, perEpoch: number) =>
    (bar ??= progressBar(phase, Math.max(0, maxEpochs - state.epoch) * perEpoch, 'img'));
  const endBar = (complete: boolean) => {
    bar?.stop({ complete });
    bar = null;
  };

  try {
    if (opts.resumeFrom) await engine.setState(opts.resumeFrom.engine);
    await tracker.start({ config, corpusHash: corpus.hash, backend: opts.backend, resumed: Boolean(opts.resumeFrom) && !opts.branchedFrom, branchedFrom: opts.branchedFrom });

    const save = async (kind: CheckpointKind) => {
      state.rngState = rng.getState();
      const engineState = await engine.getState();
      await saveCheckpoint(opts.runName, kind, { config, corpusHash: corpus.hash, shape, backend: opts.backend, engine: engineState, trainer: state }, root);
      written.add(kind);
    };
    // Augmented views are a function of (seed, the epoch's first step, row, view): see augment.ts.
    const augment = augmentOptionsOf(train);
    const epochPixels = (): ItemPixels | undefined => {
      if (!augment) return undefined;
      const epochKey = state.step;
      return (item, pixels) => augmentImage(pixels, corpus.imageSize, mixSeed(train.seed, epochKey, item.row, item.view ?? 0), augment);
    };
    // Per-step rates when a warm-up or cosine schedule is set; otherwise the plain phase rate.
    const stepRate = (base: number, phaseEpochs: number): StepRate | undefined => {
      if (isConstant({ schedule: train.lr_schedule, warmupSteps: train.warmup_steps })) return undefined;
      const s = { base, schedule: train.lr_schedule, warmupSteps: train.warmup_steps, phaseEpochs };
      const [step, epoch] = [state.step, state.epoch];
      return (i, steps) => learningRateAt(s, step + i, epoch + i / Math.max(1, steps));
    };
    // Forward-only measurements count as training time, as validation does.
    const timed = async <T>(f: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      const out = await f();
      state.wallTimeS += (performance.now() - started) / 1000;
      return out;
    };
    const stopRequested = () => opts.signal?.aborted || (opts.stopAfterEpochs !== undefined && epochsThisCall >= opts.stopAfterEpochs);
    const result = (completed: boolean): TrainRunResult => ({ state, completed, epochsThisCall, checkpointsWritten: [...written] });

    // Phase 1: indexing (under schedule=joint, the indexing-only warm-up).
    const joint = train.schedule === 'joint';
    const indexingEpochs = joint ? Math.min(train.joint_warmup_epochs, train.indexing_epochs) : train.indexing_epochs;
    while (state.phase === 'indexing') {
      if (stopRequested()) return (endBar(false), result(false));
      let row: EpochMetrics | null = null;
      if (state.epoch < indexingEpochs) {
        const items = indexingItems(corpus, rng, train.indexing_views);
        const progress = phaseBar('indexing', indexingEpochs, items.length);
        progress.status(`${joint ? 'warm-up ' : ''}epoch ${state.epoch + 1}/${indexingEpochs}`);
        const run = await trainEpoch(engine, corpus, items, train.batch_size, rng, progress, opts.signal, stepRate(train.learning_rate, indexingEpochs), epochPixels());
        if (!run) return (endBar(false), result(false));
        row = finishEpoch(state, 'indexing', run, run.lastRate ?? train.learning_rate);
        // clean: augmented views (and dropout) keep training accuracy below what the model knows of the index.
        if (train.early_stop_measure === 'clean') row.clean_id_accuracy = await timed(() => indexAccuracy(engine, corpus, train.batch_size));
        const stopOn = row.clean_id_accuracy ?? row.id_accuracy;
        state.earlyStopStreak = updateEarlyStop(state.earlyStopStreak, stopOn, train.early_stop_accuracy, train.early_stop_patience).streak;
        epochsThisCall++;
        progress.line(epochLine(row, indexingEpochs), { terminal: false });
      }
      const ended = state.epoch >= indexingEpochs || state.earlyStopStreak >= train.early_stop_patience;
      if (ended) {
        endBar(true);
        await endIndexing(engine, corpus, state, train.batch_size, log);
        await save('indexing');
      }
      await save('last');
      if (row) await tracker.logEpoch(row);
      if (ended) await tracker.endPhase('indexing');
    }

    // Phase 2: retrieval fine-tuning on train queries (joint: mixed with indexing), model selection on val queries.
    const cap = train.max_targets_per_query;
    const retrievalRate = train.retrieval_learning_rate ?? train.learning_rate;
    const valItems = validationItems(corpus, cap, train.seed);
    const selectOnP10 = train.select_on === 'val_p10';
    const valQueries = selectOnP10 ? selectionQueries(corpus) : null;
    if (state.phase === 'retrieval' && (train.retrieval_epochs === 0 || !queriesOf(corpus, 'train').some((q) => q.relevantIds.length > 0))) {
      if (train.retrieval_epochs > 0) log('phase 2 skipped: the corpus has no train queries with relevant indexed images');
      state.phase = 'done';
      await save('last');
    }
    if (state.phase === 'retrieval' && state.epoch === 0 && valItems.length === 0) {
      log(`warning: no val queries; the retrieval checkpoint will be the last epoch, not the best by ${train.select_on}`);
    }
    while (state.phase === 'retrieval') {
      if (stopRequested()) return (endBar(false), result(false));
      if (state.epoch < train.retrieval_epochs) {
        const items = joint
          ? jointItems(corpus, cap, rng, train.indexing_views, train.joint_ratio)
          : retrievalItems(corpus, cap, rng, train.index_replay);
        const progress = phaseBar('retrieval', train.retrieval_epochs, items.length);
        progress.status(`${joint ? 'joint ' : ''}epoch ${state.epoch + 1}/${train.retrieval_epochs}`);
        const run = await trainEpoch(engine, corpus, items, train.batch_size, rng, progress, opts.signal, stepRate(retrievalRate, train.retrieval_epochs) ?? retrievalRate, epochPixels());
        if (!run) return (endBar(false), result(false));
        const row = finishEpoch(state, 'retrieval', run, run.lastRate ?? retrievalRate);
        const val = await validate(engine, corpus, valItems, train.batch_size, state);
        if (val) Object.assign(row, val);
        if (valQueries) Object.assign(row, await timed(() => measureValRetrieval(engine, config, corpus, shape, valQueries)));
        epochsThisCall++;
        const best =
          valItems.length === 0 ||
          (selectOnP10
            ? isBetterRetrieval({ p10: row.val_p10 ?? Number.NaN, ia: row.ia ?? Number.NaN }, bestRetrievalOf(state), train.select_min_ia)
            : isBetterValLoss(row.val_loss ?? Number.NaN, state.bestValLoss));
        if (best) {
          state.bestValLoss = row.val_loss ?? null;
          state.bestEpoch = state.epoch;
          if (selectOnP10) [state.bestValP10, state.bestIa] = [row.val_p10 ?? null, row.ia ?? null];
        }
        if (state.bestEpoch !== null) row.best_epoch = state.bestEpoch;
        // The bar shows training loss; model selection is on val queries, so each epoch's numbers are printed too.
        const selection = selectOnP10
          ? ` P@10 ${row.val_p10?.toFixed(3)} IA@1 ${row.ia?.toFixed(3)} (kept: epoch ${state.bestEpoch}, P@10 ${state.bestValP10?.toFixed(3)} IA@1 ${state.bestIa?.toFixed(3)})`
          : ` (best ${state.bestValLoss?.toFixed(4)} at epoch ${state.bestEpoch})`;
        progress.line(
          epochLine(row, train.retrieval_epochs) +
            (val ? ` | val loss ${val.val_loss.toFixed(4)} tok ${val.val_token_accuracy.toFixed(3)} id ${val.val_id_accuracy.toFixed(3)}${selection}` : ''),
          { terminal: Boolean(val) },
        );
        if (state.epoch >= train.retrieval_epochs) state.phase = 'done';
        if (valItems.length > 0 && retrievalPatienceExhausted(state.epoch, state.bestEpoch, train.retrieval_patience)) {
          endBar(true);
          log(`phase 2: the kept epoch (by ${train.select_on}) is ${train.retrieval_patience} epochs old (train.retrieval_patience); stopping`);
          state.phase = 'done';
        }
        if (best) await save('retrieval');
        await save('last');
        await tracker.logEpoch(row);
      } else {
        state.phase = 'done';
        await save('last');
      }
      if (state.phase === 'done') {
        endBar(true);
        await tracker.endPhase('retrieval');
        log(`phase 2 done: ${keptLine(state, train)}`);
      }
    }
    await tracker.finish();
    return result(true);
  } catch (e) {
    endBar(false);
    throw e;
  } finally {
    await engine.dispose();
  }
}
