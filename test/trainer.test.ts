import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DsiConfig } from '../src/config/schema.ts';
import type { Corpus } from '../src/data/types.ts';
import { imagePixels, queriesOf } from '../src/data/types.ts';
import type { TrainBatch, TrainingEngine } from '../src/train/engine/engine.ts';
import { initBackend } from '../src/runtime/backend.ts';
import { Rng } from '../src/runtime/rng.ts';
import { createEngine } from '../src/train/engine/engine.ts';
import { batchesOf, indexingItems, retrievalItems, sampleIds, validationItems } from '../src/train/batches.ts';
import { loadCheckpoint } from '../src/runs/checkpoint.ts';
import { meanStats } from '../src/train/engine/stats.ts';
import { isBetterValLoss, retrievalPatienceExhausted, updateEarlyStop } from '../src/train/phases.ts';
import { modelShapeOf } from '../src/runs/checkpoint.ts';
import { evaluateItems } from '../src/train/train.ts';
import { quietTrainRunner, readMetricsFile, tempDir, tinyConfig, tinyCorpus } from './train-fixtures.ts';

process.env.DSI_NO_PROGRESS = '1';
let corpus: Corpus;
let backend: string;
const dirs = tempDir('trainer');

before(async () => {
  backend = await initBackend('wasm');
  corpus = await tinyCorpus();
});
after(() => dirs.cleanup());

const run = quietTrainRunner(dirs.path, () => corpus, () => backend);

/** Wraps an engine to see every batch it trains on, and optionally abort after N steps. */
function spy(batches: TrainBatch[], abortAfterSteps?: { steps: number; controller: AbortController }) {
  return (engine: TrainingEngine): TrainingEngine => ({
    ...engine,
    backend: engine.backend,
    workers: engine.workers,
    trainStep: async (batch, seed) => {
      batches.push(batch);
      const stats = await engine.trainStep(batch, seed);
      if (abortAfterSteps && batches.length === abortAfterSteps.steps) abortAfterSteps.controller.abort();
      return stats;
    },
    evaluate: (b) => engine.evaluate(b),
    getState: () => engine.getState(),
    setState: (s) => engine.setState(s),
    dispose: () => engine.dispose(),
  });
}

test('phase 1 batches: every indexed image once per epoch, in a seeded order that changes per epoch', () => {
  const rng = new Rng(5);
  const e1 = indexingItems(corpus, rng);
  const e2 = indexingItems(corpus, rng);
  for (const epoch of [e1, e2]) {
    assert.deepEqual(epoch.map((it) => it.targetIds[0]).sort((a, b) => a - b), corpus.indexedRows.map((_, id) => id));
    for (const it of epoch) assert.equal(it.row, corpus.indexedRows[it.targetIds[0]]);
  }
  assert.notDeepEqual(e1, e2);
  assert.deepEqual(indexingItems(corpus, new Rng(5)), e1);
});

test('phase 2 batches: only train queries, each image once with its sampled relevant IDs', () => {
  const trainRows = new Set(queriesOf(corpus, 'train').map((q) => q.row));
  const items = retrievalItems(corpus, 2, new Rng(1));
  assert.deepEqual(new Set(items.map((i) => i.row)), trainRows);
  for (const it of items) {
    const rec = corpus.records[it.row];
    assert.equal(it.targetIds.length, 2, 'each query has 3 relevant IDs, capped at 2');
    for (const id of it.targetIds) assert.ok(rec.relevantIds.includes(id), 'rec.relevantIds.includes(id)');
  }
  const [batch] = [...batchesOf(corpus, items, 3)];
  assert.equal(batch.imageCount, 3);
  assert.equal(batch.targetCount, 6, 'two targets per image, the image itself only once');
  assert.deepEqual([...batch.targetImage], [0, 0, 1, 1, 2, 2]);
  // sampling is without replacement and covers everything when it fits
  assert.deepEqual(sampleIds([4, 7, 9], 5, new Rng(0)), [4, 7, 9]);
  const s = sampleIds([1, 2, 3, 4, 5, 6, 7, 8], 4, new Rng(3));
  assert.equal(new Set(s).size, 4);
  // validation uses val queries with a fixed sample, whatever the training stream did
  assert.deepEqual(validationItems(corpus, 2, 11), validationItems(corpus, 2, 11));
  assert.ok(validationItems(corpus, 2, 11).every((it) => corpus.records[it.row].role === 'val'), 'validationItems(corpus, 2, 11).every((it) => corpus.records[it.row].role === \'val\')');
});

test('train.index_replay mixes indexed images (-> own ID) into phase 2, never val or test queries', () => {
  const n = corpus.indexedRows.length;
  assert.deepEqual(retrievalItems(corpus, 2, new Rng(1), 0), retrievalItems(corpus, 2, new Rng(1)), 'replay 0 is the reference stream');
  for (const fraction of [0.5, 1, 2.5]) {
    const items = retrievalItems(corpus, 2, new Rng(1), fraction);
    const replayed = items.filter((it) => corpus.records[it.row].role === 'indexed');
    assert.equal(replayed.length, Math.round(fraction * n), `fraction ${fraction}`);
    for (const it of replayed) assert.deepEqual(it.targetIds, [corpus.indexedRows.indexOf(it.row)], 'an indexed image targets its own ID');
    assert.ok(items.every((it) => ['indexed', 'train'].includes(corpus.records[it.row].role)), 'items.every((it) => [\'indexed\', \'train\'].includes(corpus.records[it.row].role))');
    assert.equal(items.length - replayed.length, queriesOf(corpus, 'train').length);
  }
  const whole = retrievalItems(corpus, 2, new Rng(1), 1).filter((it) => corpus.records[it.row].role === 'indexed');
  assert.equal(new Set(whole.map((it) => it.row)).size, n, 'fraction 1 replays every indexed image once');
});

test('early stopping and best-val rules', () => {
  assert.deepEqual(updateEarlyStop(0, 0.99, 0.98, 3), { streak: 1, stop: false });
  assert.deepEqual(updateEarlyStop(2, 0.98, 0.98, 3), { streak: 3, stop: true });
  assert.deepEqual(updateEarlyStop(2, 0.5, 0.98, 3), { streak: 0, stop: false });
  assert.equal(isBetterValLoss(1.0, null), true);
  assert.equal(isBetterValLoss(1.0, 1.0), false, 'ties keep the earlier epoch');
  assert.equal(isBetterValLoss(Number.NaN, 2), false);
});

test('test (and val) queries never reach a training batch; phase 1 stops early once accuracy holds', async () => {
  const seen: TrainBatch[] = [];
  const size = corpus.imageSize * corpus.imageSize * 3;
  const key = (px: Uint8Array) => Buffer.from(px).toString('base64');
  const heldOut = [...queriesOf(corpus, 'test'), ...queriesOf(corpus, 'val')];
  const testImages = new Set(heldOut.map((q) => key(imagePixels(corpus, q.row))));
  // early_stop_accuracy 0 is always reached: phase 1 must end after `patience` epochs, not 50.
  const config = tinyConfig({ 'train.indexing_epochs': 50, 'train.early_stop_accuracy': 0, 'train.early_stop_patience': 2, 'train.retrieval_epochs': 2 });
  const result = await run('no-test-leak', config, { wrapEngine: spy(seen) });
  assert.equal(result.completed, true);
  assert.equal(result.state.indexingEpochsRun, 2);
  assert.ok(seen.length > 0, 'seen.length > 0');
  for (const b of seen) {
    for (let i = 0; i < b.imageCount; i++) assert.ok(!testImages.has(key(b.images.subarray(i * size, (i + 1) * size))), 'a test or val query image was trained on');
  }
  const rows = readMetricsFile(join(dirs.path, 'experiments'), 'no-test-leak');
  assert.deepEqual(rows.map((r) => `${r.phase}${r.epoch}`), ['indexing1', 'indexing2', 'retrieval1', 'retrieval2']);
  assert.ok(rows.every((r) => r.images_per_sec > 0 && Number.isFinite(r.loss)), 'rows.every((r) => r.images_per_sec > 0 && Number.isFinite(r.loss))');
  assert.ok(rows.filter((r) => r.phase === 'retrieval').every((r) => Number.isFinite(r.val_loss)), 'rows.filter((r) => r.phase === \'retrieval\').every((r) => Number.isFinite(r.val_loss))');
});

test('resume after an interruption (mid-epoch abort, then an epoch limit) reaches the same weights as an uninterrupted run', async () => {
  const config = tinyConfig({ 'train.indexing_epochs': 3, 'train.retrieval_epochs': 2 });
  const full = await run('straight', config);
  assert.equal(full.completed, true);

  // 12 indexed images in batches of 5 = 3 steps per epoch: abort during epoch 2 (after step 5).
  const controller = new AbortController();
  const first = await run('interrupted', config, { signal: controller.signal, wrapEngine: spy([], { steps: 5, controller }) });
  assert.equal(first.completed, false);
  let last = await loadCheckpoint('interrupted', 'last', join(dirs.path, 'checkpoints'));
  assert.deepEqual([last.trainer.phase, last.trainer.epoch, last.trainer.step], ['indexing', 1, 3], 'the aborted epoch is not in the checkpoint');

  // Resume, stopping again right after phase 1 ends (2 more epochs), then resume to the end.
  const second = await run('interrupted', config, { resumeFrom: last, stopAfterEpochs: 2 });
  assert.equal(second.completed, false);
  last = await loadCheckpoint('interrupted', 'last', join(dirs.path, 'checkpoints'));
  assert.equal(last.trainer.phase, 'retrieval');
  const third = await run('interrupted', config, { resumeFrom: last });
  assert.equal(third.completed, true);

  const root = join(dirs.path, 'checkpoints');
  for (const kind of ['indexing', 'retrieval', 'last'] as const) {
    const a = await loadCheckpoint('straight', kind, root);
    const b = await loadCheckpoint('interrupted', kind, root);
    assert.equal(a.weights.length, b.weights.length);
    a.weights.forEach((w, i) => assert.deepEqual(b.weights[i].data, w.data, `${kind}: weight ${w.name} differs after resume`));
    assert.deepEqual(b.engine.optimizer.map((o) => o.data), a.engine.optimizer.map((o) => o.data));
    assert.deepEqual({ ...b.trainer, wallTimeS: 0 }, { ...a.trainer, wallTimeS: 0 });
  }
  const rows = readMetricsFile(join(dirs.path, 'experiments'), 'interrupted');
  assert.deepEqual(rows.map((r) => r.loss), readMetricsFile(join(dirs.path, 'experiments'), 'straight').map((r) => r.loss));
});

test('the retrieval checkpoint holds the epoch with the lowest validation loss', async () => {
  // A high learning rate makes val loss bounce, so "best" is not simply "last".
  const config = tinyConfig({ 'train.indexing_epochs': 2, 'train.retrieval_epochs': 5, 'train.learning_rate': 0.02, 'train.seed': 3 });
  await run('best-val', config);
  const rows = readMetricsFile(join(dirs.path, 'experiments'), 'best-val').filter((r) => r.phase === 'retrieval');
  const bestRow = rows.reduce((a, b) => (b.val_loss! < a.val_loss! ? b : a));
  const best = await loadCheckpoint('best-val', 'retrieval', join(dirs.path, 'checkpoints'));
  assert.equal(best.trainer.bestEpoch, bestRow.epoch);
  assert.equal(best.trainer.bestValLoss, bestRow.val_loss);
  // Its weights really are that epoch's: re-measuring val loss gives the logged number.
  const engine = await createEngine({ model: config.model, train: config.train, shape: modelShapeOf(corpus), backend });
  try {
    await engine.setState(best.engine);
    const val = meanStats(await evaluateItems(engine, corpus, validationItems(corpus, 2, config.train.seed), config.train.batch_size));
    assert.ok(Math.abs(val.loss - bestRow.val_loss!) < 1e-5, `re-measured ${val.loss}, logged ${bestRow.val_loss}`);
  } finally {
    await engine.dispose();
  }
  const lastRow = rows[rows.length - 1];
  if (bestRow.epoch !== lastRow.epoch) {
    const last = await loadCheckpoint('best-val', 'last', join(dirs.path, 'checkpoints'));
    assert.notDeepEqual(last.weights[0].data, best.weights[0].data);
  }
});

test('retrieval_epochs=0 skips phase 2: an indexing checkpoint, no retrieval checkpoint', async () => {
  const config = tinyConfig({ 'train.indexing_epochs': 1, 'train.retrieval_epochs': 0 });
  const result = await run('index-only', config);
  assert.equal(result.completed, true);
  assert.equal(result.state.phase, 'done');
  assert.ok(existsSync(join(dirs.path, 'checkpoints', 'index-only', 'indexing', 'weights.bin')), 'existsSync(join(dirs.path, \'checkpoints\', \'index-only\', \'indexing\', \'weights.bin\'))');
  assert.ok(!existsSync(join(dirs.path, 'checkpoints', 'index-only', 'retrieval')), '!existsSync(join(dirs.path, \'checkpoints\', \'index-only\', \'retrieval\'))');
  assert.ok(result.state.indexingAccuracy !== null && result.state.indexingAccuracy >= 0, 'result.state.indexingAccuracy !== null && result.state.indexingAccuracy >= 0');
});

test('phase 2 stops once val loss has not improved for train.retrieval_patience epochs, keeping the best epoch', async () => {
  assert.equal(retrievalPatienceExhausted(13, 3, 10), true);
  assert.equal(retrievalPatienceExhausted(12, 3, 10), false);
  assert.equal(retrievalPatienceExhausted(75, 1, 0), false, 'patience 0 runs every epoch');
  // A high learning rate makes val loss bounce, so an epoch without improvement comes early.
  const config = tinyConfig({ 'train.indexing_epochs': 2, 'train.retrieval_epochs': 8, 'train.learning_rate': 0.02, 'train.seed': 3, 'train.retrieval_patience': 1 });
  const result = await run('patience', config);
  assert.equal(result.completed, true);
  const rows = readMetricsFile(join(dirs.path, 'experiments'), 'patience').filter((r) => r.phase === 'retrieval');
  // Replay the rule over the logged val losses: training must end exactly where it says.
  let best: number | null = null;
  let bestEpoch = 0;
  let expectedStop = 8;
  for (const r of rows) {
    if (isBetterValLoss(r.val_loss!, best)) [best, bestEpoch] = [r.val_loss!, r.epoch];
    if (r.epoch - bestEpoch >= 1) { expectedStop = r.epoch; break; }
  }
  assert.ok(rows.length < 8, `val loss improved every epoch (${rows.map((r) => r.val_loss).join(', ')}): the test needs a bounce`);
  assert.equal(rows[rows.length - 1].epoch, expectedStop);
  const kept = await loadCheckpoint('patience', 'retrieval', join(dirs.path, 'checkpoints'));
  assert.equal(kept.trainer.bestEpoch, bestEpoch);
});

test('train.retrieval_learning_rate drives phase 2 only, and is logged per epoch', async () => {
  const config = tinyConfig({ 'train.indexing_epochs': 1, 'train.retrieval_epochs': 1, 'train.retrieval_learning_rate': 1e-9 });
  await run('phase2-rate', config);
  const rows = readMetricsFile(join(dirs.path, 'experiments'), 'phase2-rate');
  assert.deepEqual(rows.map((r) => [r.phase, r.learning_rate]), [['indexing', config.train.learning_rate], ['retrieval', 1e-9]]);
  const root = join(dirs.path, 'checkpoints');
  const [indexed, tuned] = await Promise.all([loadCheckpoint('phase2-rate', 'indexing', root), loadCheckpoint('phase2-rate', 'retrieval', root)]);
  const moved = Math.max(...tuned.weights.flatMap((w, i) => Array.from(w.data, (v, j) => Math.abs(v - indexed.weights[i].data[j]))));
  assert.ok(moved > 0 && moved < 1e-6, `phase 2 moved weights by up to ${moved} at a 1e-9 rate`);
});
