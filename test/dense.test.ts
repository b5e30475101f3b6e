import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { runEvaluation } from '../src/eval/evaluate.ts';
import { runSearch } from '../src/eval/search.ts';
import { runEmbed } from '../src/eval/embed.ts';
import { embeddingsFor, readExternalEmbeddings } from '../src/data/semantic-embeddings.ts';
import { initBackend } from '../src/runtime/backend.ts';
import { loadCheckpoint } from '../src/runs/checkpoint.ts';
import { launchTraining } from '../src/train/train.ts';
import { cosineClassifierLoss, supervisedContrastiveLoss } from '../src/train/dense/loss.ts';
import { copyImageFolder } from './data-fixtures.ts';
import { IMAGENETTE, tempDir } from './train-fixtures.ts';

process.env.DSI_NO_PROGRESS = '1';
const dirs = tempDir('dense');
after(() => dirs.cleanup());
const roots = { checkpointsDir: join(dirs.path, 'checkpoints'), cacheRoot: join(dirs.path, 'cache'), experimentsDir: join(dirs.path, 'experiments') };
const quiet = () => {};

test('supervised contrastive loss: low when same-class images align, high when they do not', async () => {
  await initBackend('wasm');
  const positives = tf.tensor2d([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]);
  const aligned = tf.tensor2d([[1, 0], [1, 0], [0, 1], [0, 1]]);
  const crossed = tf.tensor2d([[1, 0], [0, 1], [1, 0], [0, 1]]);
  const good = (await supervisedContrastiveLoss(aligned, positives, 0.1).data())[0];
  const bad = (await supervisedContrastiveLoss(crossed, positives, 0.1).data())[0];
  assert.ok(good < 0.01 && bad > 5, `aligned ${good}, crossed ${bad}`);
});

test('cosine classifier loss: low when each image lies on its class vector, high on another class\'s', async () => {
  await initBackend('wasm');
  const vectors = tf.tensor2d([[2, 0], [0, 3]]); // lengths do not matter: cosine
  const targets = tf.tensor2d([[1, 0], [0, 1], [0.5, 0.5]]);
  const on = (await cosineClassifierLoss(tf.tensor2d([[1, 0], [0, 1], [0.7071, 0.7071]]), vectors, targets, 0.1).data())[0];
  const off = (await cosineClassifierLoss(tf.tensor2d([[0, 1], [1, 0], [0.7071, 0.7071]]), vectors, targets, 0.1).data())[0];
  // The multi-label image (half each class) sits between them in both: ln 2 / 3 of the mean.
  assert.ok(Math.abs(on - Math.log(2) / 3) < 0.01, `aligned ${on}`);
  assert.ok(off > 6, `crossed ${off}`);
});

test('the dense dual encoder ranks same-class images of data/samples above chance: a row in dsi eval, and dsi search --model dense; --queries DIR works with hierarchical IDs', async () => {
  const overrides = [
    'data.source=folder', `data.root=${IMAGENETTE}`, 'data.num_images=380', 'data.min_images_per_class=38', 'data.image_size=32',
    'model.patch_size=8', 'model.embed_dim=32', 'model.ffn_dim=64', 'model.num_heads=4', 'model.encoder_layers=1', 'model.decoder_layers=1',
    'train.indexing_epochs=1', 'train.retrieval_epochs=0', 'train.dense_epochs=4', 'train.batch_size=32', 'train.learning_rate=0.002',
    'train.workers=2', 'tracking.wandb=disabled', 'data.id_scheme=hierarchical',
  ];
  // train.workers=2: the data-parallel engines (DSI and dense) end to end, checkpoint to eval.
  const trained = await launchTraining({ overrides, run: 'dense', backend: 'wasm', ...roots, log: quiet });
  assert.ok(trained.checkpointsWritten.includes('dense'), 'trained.checkpointsWritten.includes(\'dense\')');
  assert.ok(existsSync(join(roots.checkpointsDir, 'dense', 'dense', 'checkpoint.json')), 'existsSync(join(roots.checkpointsDir, \'dense\', \'dense\', \'checkpoint.json\'))');

  const { report } = await runEvaluation({ run: 'dense', protocol: 'full', skipBovw: true, backend: 'wasm', ...roots, log: quiet });
  const dense = report.models.find((m) => m.kind === 'dense')!;
  assert.ok(dense, 'a dense row');
  assert.equal(dense.ia, null, 'no IA: the dense model has no IDs');
  assert.equal(dense.fullAllQueries, null, 'trained on queries: scored on the test split only');
  // 10 classes, 10 indexed images each: a random ranking has P@10 = 0.1.
  assert.ok(dense.full!.precision.mean > 0.15, `dense P@10 ${dense.full!.precision.mean}`);

  // Out-of-corpus queries (--queries DIR: classes by folder name) through the hierarchical trie and
  // the dense index. The corpus took 38 of each class's 40 photos: copies of all 40 leave 2 per class.
  const outside = join(dirs.path, 'outside');
  await copyImageFolder(outside, { n01440764: 40, n02102040: 40 });
  const ooc = await runEvaluation({ run: 'dense', protocol: 'full', skipBovw: true, backend: 'wasm', queriesDir: outside, ...roots, log: quiet });
  assert.deepEqual(ooc.report.models.map((m) => m.kind), ['zero-shot', 'dense']);
  assert.equal(ooc.report.corpus.idScheme, 'hierarchical');
  assert.match(ooc.markdown, /ViT DSI zero-shot \| 380 \| hierarchical/);
  for (const m of ooc.report.models) assert.equal(m.full!.queries, 4);
  assert.equal(ooc.report.querySet.inCorpus, 76, 'the corpus\'s own photos are recognised by their pixels and left out');

  const search = await runSearch({ run: 'dense', model: 'dense', k: 5, images: [join(IMAGENETTE, 'n01440764', 'ILSVRC2012_val_00000293.jpg')], ...roots, backend: 'wasm', log: quiet });
  assert.equal(search.queries[0].hits.length, 5);
  assert.match(search.text, /Dense dual encoder/);
  const scores = search.queries[0].hits.map((h) => h.score);
  assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'cosine scores, best first');

  // dsi embed: the dense encoder's vectors of the indexed images, named relative to data.root, in
  // the files data.semantic_embeddings / data.semantic_names read back.
  const emb = await runEmbed({ run: 'dense', model: 'dense', images: 'indexed', out: join(dirs.path, 'dense-emb'), backend: 'wasm', ...roots, log: quiet });
  assert.deepEqual([emb.rows, emb.dim], [90, 32], "the 90 indexed images (9 of each class's 38), embed_dim 32");
  const ext = readExternalEmbeddings(emb.npyPath, emb.namesPath);
  for (const name of ext.names) assert.ok(!name.startsWith('/') && existsSync(join(IMAGENETTE, name)), `${name} relative to data.root`);
  const vec = (i: number) => ext.values.subarray(i * ext.dim, (i + 1) * ext.dim);
  const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, j) => s + v * b[j], 0);
  for (let i = 0; i < ext.rows; i++) assert.ok(Math.abs(dot(vec(i), vec(i)) - 1) < 1e-4, 'unit vectors');
  // Trained on classes: same-class pairs lie closer than other pairs, on average.
  const cls = ext.names.map((n) => n.split('/')[0]);
  const sums = { same: { total: 0, pairs: 0 }, other: { total: 0, pairs: 0 } };
  for (let i = 0; i < ext.rows; i++) {
    for (let j = i + 1; j < ext.rows; j++) {
      const s = cls[i] === cls[j] ? sums.same : sums.other;
      s.total += dot(vec(i), vec(j));
      s.pairs++;
    }
  }
  const [same, other] = [sums.same.total / sums.same.pairs, sums.other.total / sums.other.pairs];
  assert.ok(same > other, `same-class cosine ${same} vs ${other}`);
  assert.deepEqual([...embeddingsFor(ext, [join(IMAGENETTE, ext.names[3])])], [...vec(3)]);
});

test('a finished run gets its dense baseline later (here the cosine classifier): dsi train --resume --set train.dense_epochs=N, and its store records it', async () => {
  const overrides = [
    'data.num_images=40', 'data.min_images_per_class=10', 'data.image_size=32',
    'model.patch_size=8', 'model.embed_dim=16', 'model.ffn_dim=32', 'model.num_heads=2', 'model.encoder_layers=1', 'model.decoder_layers=1',
    'train.indexing_epochs=1', 'train.retrieval_epochs=1', 'train.dense_epochs=0', 'train.batch_size=16', 'train.workers=1', 'tracking.wandb=disabled',
  ];
  const first = await launchTraining({ overrides, run: 'late-dense', backend: 'wasm', ...roots, log: quiet });
  assert.ok(!first.checkpointsWritten.includes('dense'), '!first.checkpointsWritten.includes(\'dense\')');
  const later = await launchTraining({ overrides: ['train.dense_epochs=1', 'train.dense_objective=classifier'], resume: 'late-dense', backend: 'wasm', ...roots, log: quiet });
  assert.deepEqual(later.checkpointsWritten, ['dense']);
  assert.ok(existsSync(join(roots.checkpointsDir, 'late-dense', 'dense', 'checkpoint.json')), 'existsSync(join(roots.checkpointsDir, \'late-dense\', \'dense\', \'checkpoint.json\'))');
  const stored = readFileSync(join(roots.experimentsDir, 'late-dense', 'config.yaml'), 'utf8');
  assert.match(stored, /dense_epochs: 1\n/);
  assert.match(stored, /dense_objective: classifier\n/);
});

test('an interrupted dense stage resumes at its last finished epoch and ends with the same weights as an uninterrupted one; other settings start it over', async () => {
  const overrides = [
    'data.num_images=60', 'data.min_images_per_class=6', 'data.image_size=32',
    'model.patch_size=8', 'model.embed_dim=16', 'model.ffn_dim=32', 'model.num_heads=2', 'model.encoder_layers=1', 'model.decoder_layers=1',
    'train.indexing_epochs=1', 'train.retrieval_epochs=0', 'train.dense_epochs=5', 'train.dense_objective=classifier', 'train.batch_size=8',
    'train.workers=2', 'train.aug_flip=0.5', 'tracking.wandb=disabled',
  ];
  // train.workers=2 and the classifier: the replicas' moments and the class vectors must all come back.
  await launchTraining({ overrides, run: 'dense-straight', backend: 'wasm', ...roots, log: quiet });
  const partialOf = (run: string) => join(roots.checkpointsDir, run, 'dense-partial');

  /** Trains `run` and aborts it as soon as its first dense epoch is saved. */
  const interrupted = async (run: string) => {
    const controller = new AbortController();
    const poll = setInterval(() => existsSync(join(partialOf(run), 'checkpoint.json')) && controller.abort(), 5);
    try {
      const result = await launchTraining({ overrides, run, backend: 'wasm', ...roots, log: quiet, signal: controller.signal });
      assert.ok(!result.checkpointsWritten.includes('dense'), 'stopped inside the dense stage');
      // The summary must not call it finished: it says stopped, with the resume command.
      assert.equal(result.completed, false);
    } finally {
      clearInterval(poll);
    }
    const partial = await loadCheckpoint(run, 'dense-partial', roots.checkpointsDir);
    assert.ok(partial.trainer.epoch >= 1 && partial.trainer.epoch < 5, `partial after epoch ${partial.trainer.epoch}`);
    return partial.trainer.epoch;
  };

  const savedAt = await interrupted('dense-resumed');
  const lines: string[] = [];
  const resumed = await launchTraining({ resume: 'dense-resumed', backend: 'wasm', ...roots, log: (l) => lines.push(l) });
  assert.deepEqual(resumed.checkpointsWritten, ['dense']);
  assert.ok(lines.some((l) => l.includes(`resuming after epoch ${savedAt} of 5`)), lines.join('\n'));
  assert.ok(!existsSync(partialOf('dense-resumed')), 'the partial checkpoint goes once the dense one is written');
  const [a, b] = [await loadCheckpoint('dense-straight', 'dense', roots.checkpointsDir), await loadCheckpoint('dense-resumed', 'dense', roots.checkpointsDir)];
  assert.equal(a.weights.length, b.weights.length);
  a.weights.forEach((w, i) => assert.deepEqual(b.weights[i].data, w.data, `dense weight ${w.name} differs after resume`));
  assert.equal(b.trainer.step, a.trainer.step);

  // A different schedule (dense_epochs) cannot continue the partial stage: it starts over, and says so.
  await interrupted('dense-changed');
  lines.length = 0;
  await launchTraining({ resume: 'dense-changed', overrides: ['train.dense_epochs=2'], backend: 'wasm', ...roots, log: (l) => lines.push(l) });
  assert.ok(lines.some((l) => /starting over.*train\.dense_epochs: partial 5, now 2/.test(l)), lines.join('\n'));
  assert.equal((await loadCheckpoint('dense-changed', 'dense', roots.checkpointsDir)).trainer.step, 2 * Math.ceil(a.trainer.step / 5));
});
