import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DsiConfig } from '../src/config/schema.ts';
import { queriesOf, type Corpus } from '../src/data/types.ts';
import { initBackend } from '../src/runtime/backend.ts';
import { Rng } from '../src/runtime/rng.ts';
import { loadCheckpoint } from '../src/runs/checkpoint.ts';
import { jointItems } from '../src/train/batches.ts';
import type { TrainingEngine } from '../src/train/engine/engine.ts';

import { quietTrainRunner, readMetricsFile, tempDir, tinyConfig, tinyCorpus } from './train-fixtures.ts';

process.env.DSI_NO_PROGRESS = '1';
let corpus: Corpus;
let backend: string;
const dirs = tempDir('joint');

before(async () => {
  backend = await initBackend('wasm');
  corpus = await tinyCorpus();
});
after(() => dirs.cleanup());

const run = quietTrainRunner(dirs.path, () => corpus, () => backend);

/** Aborts after `steps` training steps (passing the per-step learning rate through). */
function abortAfter(steps: number, controller: AbortController) {
  let n = 0;
  return (engine: TrainingEngine): TrainingEngine => ({
    ...engine,
    backend: engine.backend,
    workers: engine.workers,
    trainStep: async (batch, seed, rate) => {
      const stats = await engine.trainStep(batch, seed, rate);
      if (++n === steps) controller.abort();
      return stats;
    },
    evaluate: (b) => engine.evaluate(b),
    getState: () => engine.getState(),
    setState: (s) => engine.setState(s),
    dispose: () => engine.dispose(),
  });
}

test('a joint epoch: every indexed image x views -> own ID, plus 1/ratio as many train-query examples; never val or test', () => {
  const n = corpus.indexedRows.length;
  const trainQueries = queriesOf(corpus, 'train').length;
  for (const [views, ratio] of [[1, 1], [3, 1], [2, 0.25], [1, 4]]) {
    const items = jointItems(corpus, 2, new Rng(1), views, ratio);
    const indexing = items.filter((it) => corpus.records[it.row].role === 'indexed');
    const queries = items.filter((it) => corpus.records[it.row].role === 'train');
    assert.equal(indexing.length, n * views);
    assert.equal(queries.length, Math.round((n * views) / ratio), `views ${views} ratio ${ratio}`);
    assert.equal(indexing.length + queries.length, items.length, 'no val or test query');
    if (queries.length >= trainQueries) assert.equal(new Set(queries.map((q) => q.row)).size, trainQueries, 'whole passes first');
  }
  assert.deepEqual(jointItems(corpus, 2, new Rng(1), 2, 1), jointItems(corpus, 2, new Rng(1), 2, 1));
});

const JOINT = {
  'train.schedule': 'joint',
  'train.indexing_epochs': 50,
  'train.joint_warmup_epochs': 2,
  'train.retrieval_epochs': 3,
  'train.retrieval_patience': 0,
  'train.indexing_views': 2,
  'train.joint_ratio': 0.5,
  'train.aug_crop_scale': 0.5,
  'train.aug_flip': 0.5,
  'train.aug_color_jitter': 0.3,
  'train.aug_erase': 0.3,
  'train.weight_decay': 0.05,
  'train.lr_schedule': 'cosine',
  'train.warmup_steps': 4,
  'train.label_smoothing': 0.1,
  'train.grad_clip_norm': 1,
};

test('schedule=joint with augmentation and the AdamW/cosine/smoothing/clipping recipe: warm-up checkpoint is the zero-shot model, joint epochs select on val; a resumed run equals an uninterrupted one', async () => {
  const config = tinyConfig(JOINT);
  const full = await run('joint-straight', config);
  assert.equal(full.completed, true);
  assert.equal(full.state.indexingEpochsRun, 2, 'the warm-up is joint_warmup_epochs long, not indexing_epochs');
  const root = join(dirs.path, 'checkpoints');
  assert.ok(existsSync(join(root, 'joint-straight', 'indexing', 'weights.bin')), 'zero-shot checkpoint');
  assert.ok(existsSync(join(root, 'joint-straight', 'retrieval', 'weights.bin')), 'best-val checkpoint');
  const rows = readMetricsFile(join(dirs.path, 'experiments'), 'joint-straight');
  assert.deepEqual(rows.map((r) => `${r.phase}${r.epoch}`), ['indexing1', 'indexing2', 'retrieval1', 'retrieval2', 'retrieval3']);
  assert.ok(rows.filter((r) => r.phase === 'retrieval').every((r) => Number.isFinite(r.val_loss)), 'rows.filter((r) => r.phase === \'retrieval\').every((r) => Number.isFinite(r.val_loss))');
  // Cosine: each phase's logged (last-step) rate falls epoch by epoch.
  const rates = rows.filter((r) => r.phase === 'retrieval').map((r) => r.learning_rate);
  assert.ok(rates[0] > rates[1] && rates[1] > rates[2], `rates ${rates.join(', ')}`);

  // 12 indexed x 2 views = 24 items in batches of 5: 5 steps per warm-up epoch; abort in epoch 2.
  const controller = new AbortController();
  const first = await run('joint-resumed', config, { signal: controller.signal, wrapEngine: abortAfter(7, controller) });
  assert.equal(first.completed, false);
  let last = await loadCheckpoint('joint-resumed', 'last', root);
  assert.deepEqual([last.trainer.phase, last.trainer.epoch], ['indexing', 1]);
  // Then stop inside the joint phase, and finish.
  const second = await run('joint-resumed', config, { resumeFrom: last, stopAfterEpochs: 2 });
  assert.equal(second.completed, false);
  last = await loadCheckpoint('joint-resumed', 'last', root);
  assert.deepEqual([last.trainer.phase, last.trainer.epoch], ['retrieval', 1]);
  assert.equal((await run('joint-resumed', config, { resumeFrom: last })).completed, true);

  for (const kind of ['indexing', 'retrieval', 'last'] as const) {
    const a = await loadCheckpoint('joint-straight', kind, root);
    const b = await loadCheckpoint('joint-resumed', kind, root);
    a.weights.forEach((w, i) => assert.deepEqual(b.weights[i].data, w.data, `${kind}: weight ${w.name} differs after resume`));
    assert.deepEqual(b.engine.optimizer.map((o) => o.data), a.engine.optimizer.map((o) => o.data));
    assert.deepEqual({ ...b.trainer, wallTimeS: 0 }, { ...a.trainer, wallTimeS: 0 });
  }
  assert.deepEqual(
    readMetricsFile(join(dirs.path, 'experiments'), 'joint-resumed').map((r) => r.loss),
    rows.map((r) => r.loss),
  );
});
