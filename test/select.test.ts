import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { DsiConfig } from '../src/config/schema.ts';
import type { Corpus } from '../src/data/types.ts';
import { indexingAccuracyAtK, precisionAtK, relevanceOf } from '../src/eval/metrics.ts';
import { indexedQueries } from '../src/eval/queries.ts';
import { vitRanker } from '../src/eval/rankers.ts';
import { initBackend } from '../src/runtime/backend.ts';
import { loadCheckpoint } from '../src/runs/checkpoint.ts';
import { keptEpoch } from '../src/track/compare.ts';
import type { EpochMetrics } from '../src/track/types.ts';
import { isBetterRetrieval, type RetrievalScore } from '../src/train/phases.ts';
import { epochLine } from '../src/train/epoch.ts';

import { SELECT_K, selectionQueries } from '../src/train/val-retrieval.ts';
import { quietTrainRunner, readMetricsFile, tempDir, tinyConfig, tinyCorpus } from './train-fixtures.ts';

process.env.DSI_NO_PROGRESS = '1';
let corpus: Corpus;
let backend: string;
const dirs = tempDir('select');
const experiments = () => join(dirs.path, 'experiments');
const checkpoints = () => join(dirs.path, 'checkpoints');

before(async () => {
  backend = await initBackend('wasm');
  corpus = await tinyCorpus();
});
after(() => dirs.cleanup());

const run = quietTrainRunner(dirs.path, () => corpus, () => backend);

/** The epoch (1-based) the rule keeps from a sequence of per-epoch scores. */
function kept(scores: RetrievalScore[], minIa: number): number {
  let best: RetrievalScore | null = null;
  let epoch = 0;
  scores.forEach((s, i) => {
    if (isBetterRetrieval(s, best, minIa)) [best, epoch] = [s, i + 1];
  });
  return epoch;
}

test('select_on=val_p10: best P@10 among epochs at or above the IA floor; otherwise the highest IA', () => {
  const s = (p10: number, ia: number) => ({ p10, ia });
  // Epoch 3 has the best P@10 overall but lost the index; epoch 4 is the best above the floor.
  assert.equal(kept([s(0.2, 0.99), s(0.3, 0.97), s(0.5, 0.6), s(0.35, 0.95), s(0.34, 0.99)], 0.95), 4);
  // A first epoch above the floor beats any earlier epoch below it, whatever their P@10.
  assert.equal(kept([s(0.6, 0.5), s(0.1, 0.96)], 0.95), 2);
  // None reaches the floor: the one that forgot least, its P@10 only breaking IA ties.
  assert.equal(kept([s(0.5, 0.6), s(0.2, 0.9), s(0.4, 0.7), s(0.3, 0.9)], 0.95), 4);
  assert.equal(kept([s(0.5, 0.6), s(0.2, 0.9), s(0.1, 0.9)], 0.95), 2);
  // Exact ties keep the earlier epoch; a non-finite measurement is never kept.
  assert.equal(kept([s(0.3, 0.97), s(0.3, 0.99)], 0.95), 1);
  assert.equal(kept([s(Number.NaN, 1), s(0.1, 0.96)], 0.95), 2);
  assert.equal(isBetterRetrieval(s(0.9, Number.NaN), null, 0.95), false);
  // Floor 0: plain best P@10.
  assert.equal(kept([s(0.2, 0.1), s(0.4, 0), s(0.3, 1)], 0), 2);
});

test('the kept phase-2 epoch is the one the rows name (best_epoch), not the lowest val loss', () => {
  const row = (epoch: number, val_loss: number, best_epoch?: number): EpochMetrics => ({
    phase: 'retrieval', epoch, loss: 1, token_accuracy: 0, id_accuracy: 0, val_loss, learning_rate: 1e-3, images_per_sec: 1, wall_time_s: epoch, best_epoch,
  });
  assert.equal(keptEpoch([row(1, 2, 1), row(2, 1, 1), row(3, 3, 1)])?.epoch, 1);
  assert.equal(keptEpoch([row(1, 2), row(2, 1), row(3, 3)])?.epoch, 2, 'runs without best_epoch: lowest val loss');
});

const SELECT = {
  'train.schedule': 'joint',
  'train.indexing_epochs': 50,
  'train.joint_warmup_epochs': 8,
  'train.retrieval_epochs': 3,
  'train.retrieval_patience': 0,
  'train.joint_ratio': 2,
  'train.select_on': 'val_p10',
  'train.select_min_ia': 0.5,
  'train.early_stop_measure': 'clean',
  'decode.beam_width': 10,
};

test('select_on=val_p10 on a joint run: val_p10 and ia logged per epoch, the kept checkpoint follows the rule and is measured as eval measures it; a resumed run equals an uninterrupted one', async () => {
  const config = tinyConfig(SELECT);
  const full = await run('select-straight', config);
  assert.equal(full.completed, true);
  const rows = readMetricsFile(experiments(), 'select-straight');
  const retrieval = rows.filter((r) => r.phase === 'retrieval');
  assert.equal(retrieval.length, 3);
  for (const r of rows.filter((x) => x.phase === 'indexing')) assert.ok(r.clean_id_accuracy! >= 0 && r.clean_id_accuracy! <= 1, `warm-up ${r.epoch}: ${r.clean_id_accuracy}`);
  for (const r of retrieval) assert.ok(r.val_p10! >= 0 && r.val_p10! <= 1 && r.ia! >= 0 && r.ia! <= 1, `epoch ${r.epoch}: val_p10 ${r.val_p10}, ia ${r.ia}`);

  const expected = kept(retrieval.map((r) => ({ p10: r.val_p10!, ia: r.ia! })), 0.5);
  assert.equal(full.state.bestEpoch, expected);
  assert.equal(retrieval[retrieval.length - 1].best_epoch, expected);
  const best = await loadCheckpoint('select-straight', 'retrieval', checkpoints());
  assert.equal(best.trainer.bestEpoch, expected);
  assert.equal(best.trainer.bestValP10, retrieval[expected - 1].val_p10);
  assert.equal(best.trainer.bestIa, retrieval[expected - 1].ia);
  // The logged P@10 and IA@1 are what eval's ranker gives the kept checkpoint (val queries; indexed images as eval ranks them).
  const queries = selectionQueries(corpus)!.val;
  const own = indexedQueries(corpus);
  const ranker = vitRanker('fine-tuned', best, corpus, config.decode);
  const { lists } = await ranker.rank(queries, SELECT_K, () => {});
  const iaLists = (await ranker.rank(own, Math.max(...config.eval.ia_k), () => {})).lists;
  ranker.dispose();
  const p10 = lists.reduce((a, l, i) => a + precisionAtK(l.ids, relevanceOf(queries.relevant[i]), SELECT_K), 0) / lists.length;
  assert.ok(Math.abs(p10 - retrieval[expected - 1].val_p10!) < 1e-9, `eval ranker ${p10} vs logged ${retrieval[expected - 1].val_p10}`);
  const ia = indexingAccuracyAtK(iaLists.map((l) => l.ids), own.relevant.map((r) => r[0]), 1);
  assert.equal(ia, retrieval[expected - 1].ia);

  // Interrupted after the warm-up and one joint epoch, then resumed.
  const first = await run('select-resumed', config, { stopAfterEpochs: 9 });
  assert.equal(first.completed, false);
  const last = await loadCheckpoint('select-resumed', 'last', checkpoints());
  assert.deepEqual([last.trainer.phase, last.trainer.epoch], ['retrieval', 1]);
  assert.equal((await run('select-resumed', config, { resumeFrom: last })).completed, true);
  for (const kind of ['indexing', 'retrieval', 'last'] as const) {
    const a = await loadCheckpoint('select-straight', kind, checkpoints());
    const b = await loadCheckpoint('select-resumed', kind, checkpoints());
    a.weights.forEach((w, i) => assert.deepEqual(b.weights[i].data, w.data, `${kind}: weight ${w.name} differs after resume`));
    assert.deepEqual({ ...b.trainer, wallTimeS: 0 }, { ...a.trainer, wallTimeS: 0 });
  }
  const resumedRows = readMetricsFile(experiments(), 'select-resumed');
  const measured = (r: EpochMetrics) => [r.clean_id_accuracy, r.val_p10, r.ia, r.best_epoch];
  assert.deepEqual(resumedRows.map(measured), rows.map(measured));
});

test('early_stop_measure=clean ends the joint warm-up at the first epoch whose clean exact-ID accuracy reaches the threshold', async () => {
  // The same seed and schedule as above, so the warm-up epochs (and their clean accuracy) repeat.
  const rows = readMetricsFile(experiments(), 'select-straight').filter((r) => r.phase === 'indexing');
  const threshold = Math.max(...rows.map((r) => r.clean_id_accuracy!));
  assert.ok(threshold > 0, 'the warm-up must learn some of the index for this test to say anything');
  assert.ok(rows.every((r) => r.id_accuracy < threshold), 'training accuracy stays below it, so only the clean measure can stop here');
  const stopAt = rows.findIndex((r) => r.clean_id_accuracy! >= threshold) + 1;
  const config = tinyConfig({ ...SELECT, 'train.joint_warmup_epochs': 20, 'train.retrieval_epochs': 0, 'train.early_stop_accuracy': threshold, 'train.early_stop_patience': 1 });
  const stopped = await run('select-warmup', config);
  assert.equal(stopped.state.indexingEpochsRun, stopAt, `clean accuracy per warm-up epoch: ${rows.map((r) => r.clean_id_accuracy).join(', ')}`);
});

test('a warm-up epoch\'s log line shows the clean exact-ID accuracy the early stop reads', () => {
  const [first] = readMetricsFile(experiments(), 'select-straight').filter((r) => r.phase === 'indexing');
  assert.match(epochLine(first, 20), new RegExp(`^indexing epoch 1/20: loss [\\d.]+ tok [\\d.]+ id [\\d.]+ clean id ${first.clean_id_accuracy!.toFixed(3)} \\(`));
  const { clean_id_accuracy: _, ...withoutClean } = first;
  assert.doesNotMatch(epochLine(withoutClean, 20), /clean/);
});
