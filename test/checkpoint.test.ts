import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Corpus } from '../src/data/types.ts';
import { modelFromState } from '../src/model/dsi-model.ts';
import type { EngineState } from '../src/types.ts';
import { initBackend } from '../src/runtime/backend.ts';
import { UserError } from '../src/runtime/errors.ts';
import { batchesOf, indexingItems } from '../src/train/batches.ts';
import { assertCompatible, loadCheckpoint, saveCheckpoint, type CheckpointData } from '../src/runs/checkpoint.ts';
import { createEngine } from '../src/train/engine/engine.ts';
import { launchTraining } from '../src/train/train.ts';
import { initialTrainerState } from '../src/train/phases.ts';
import { modelShapeOf } from '../src/runs/checkpoint.ts';
import { decoderInputFor, encodeTarget } from '../src/data/ids.ts';
import { Rng } from '../src/runtime/rng.ts';
import { IMAGENETTE, tempDir, tinyConfig, tinyCorpus } from './train-fixtures.ts';
import { sampleClasses } from './helpers/test-data.ts';

process.env.DSI_NO_PROGRESS = '1';
const dirs = tempDir('ckpt');
let corpus: Corpus;
let backend: string;
let trained: CheckpointData;
const config = tinyConfig();

before(async () => {
  backend = await initBackend('wasm');
  corpus = await tinyCorpus();
  // A few real optimisation steps, so weights and Adam moments are not their initial values.
  const shape = modelShapeOf(corpus);
  const engine = await createEngine({ model: config.model, train: config.train, shape, backend });
  const rng = new Rng(1);
  for (const batch of batchesOf(corpus, indexingItems(corpus, rng), 5)) await engine.trainStep(batch, rng.seed());
  const state = await engine.getState();
  await engine.dispose();
  trained = { config, corpusHash: corpus.hash, shape, backend, engine: state, trainer: { ...initialTrainerState(7), epoch: 1, step: state.step } };
});
after(() => dirs.cleanup());

/** Teacher-forced logits of the first 4 indexed images for the model holding `weights`. */
async function logitsOf(state: EngineState): Promise<Float32Array> {
  const model = modelFromState(config.model, modelShapeOf(corpus), state.weights);
  const size = corpus.imageSize;
  const rows = corpus.indexedRows.slice(0, 4);
  const pixels = new Float32Array(rows.length * size * size * 3);
  rows.forEach((row, i) => pixels.set(corpus.pixels.subarray(row * size * size * 3, (row + 1) * size * size * 3), i * size * size * 3));
  const tokens = rows.flatMap((_, id) => decoderInputFor(encodeTarget(id, corpus.idLength)));
  const logits = tf.tidy(() =>
    model.forward(tf.tensor4d(pixels, [rows.length, size, size, 3]), tf.tensor2d(tokens, [rows.length, corpus.idLength + 1], 'int32'), null, { training: false }),
  );
  const data = (await logits.data()) as Float32Array;
  logits.dispose();
  model.dispose();
  return data;
}

async function freshCheckpoint(run: string): Promise<string> {
  return saveCheckpoint(run, 'last', trained, dirs.path);
}

async function refusal(run: string, pattern: RegExp): Promise<void> {
  await assert.rejects(loadCheckpoint(run, 'last', dirs.path), (e: unknown) => {
    assert.ok(e instanceof UserError, `expected UserError, got ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('checkpoint round-trip: identical weights, optimizer state, trainer state and logits', async () => {
  const dir = await freshCheckpoint('roundtrip');
  assert.deepEqual(readdirSync(dir).sort(), ['checkpoint.json', 'config.json', 'optimizer.bin', 'optimizer.json', 'trainer.json', 'weights.bin', 'weights.json']);
  assert.deepEqual(readdirSync(join(dirs.path, 'roundtrip')), ['last'], 'no temp folder is left behind');
  const index = JSON.parse(readFileSync(join(dir, 'weights.json'), 'utf8'));
  assert.match(index.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(Object.keys(index.tensors[0]).sort(), ['bytes', 'dtype', 'name', 'offset', 'shape']);

  const loaded = await loadCheckpoint('roundtrip', 'last', dirs.path);
  assert.deepEqual(loaded.config, config);
  assert.equal(loaded.corpusHash, corpus.hash);
  assert.deepEqual(loaded.trainer, trained.trainer);
  assert.deepEqual(loaded.engine, trained.engine);
  const before = await logitsOf(trained.engine);
  const afterLoad = await logitsOf(loaded.engine);
  assert.deepEqual(afterLoad, before);
  assert.ok(before.some((v) => v !== 0), 'before.some((v) => v !== 0)');

  // Saving again replaces the folder atomically.
  await saveCheckpoint('roundtrip', 'last', { ...trained, trainer: { ...trained.trainer, epoch: 2 } }, dirs.path);
  assert.equal((await loadCheckpoint('roundtrip', 'last', dirs.path)).trainer.epoch, 2);
  assert.deepEqual(readdirSync(join(dirs.path, 'roundtrip')), ['last']);
});

test('a crash between the two renames of a save still leaves a loadable checkpoint', async () => {
  const dir = await freshCheckpoint('crashed-swap');
  renameSync(dir, join(dirs.path, 'crashed-swap', '.old-last'));
  assert.equal((await loadCheckpoint('crashed-swap', 'last', dirs.path)).trainer.epoch, 1);
});

test('damaged checkpoints are refused with a message naming the file', async () => {
  const flip = (file: string, at: number) => {
    const b = readFileSync(file);
    b[at] ^= 0xff;
    writeFileSync(file, b);
  };
  let dir = await freshCheckpoint('flipped');
  flip(join(dir, 'weights.bin'), 1000);
  await refusal('flipped', /checkpoint .*flipped\/last is damaged.*weights\.bin does not match its sha256/);

  dir = await freshCheckpoint('missing');
  rmSync(join(dir, 'optimizer.bin'));
  await refusal('missing', /optimizer\.bin is missing/);

  dir = await freshCheckpoint('truncated');
  writeFileSync(join(dir, 'trainer.json'), '{"phase":');
  await refusal('truncated', /trainer\.json has \d+ bytes, checkpoint\.json says \d+/);

  dir = await freshCheckpoint('no-manifest');
  rmSync(join(dir, 'checkpoint.json'));
  await refusal('no-manifest', /checkpoint\.json is missing/);

  await assert.rejects(loadCheckpoint('never-ran', 'last', dirs.path), /no run "never-ran"/);
  await assert.rejects(loadCheckpoint('flipped', 'retrieval', dirs.path), /run "flipped" has no retrieval checkpoint/);
});

test('a checkpoint is refused for another model config or corpus, naming what differs', async () => {
  await freshCheckpoint('mismatch');
  const ckpt = await loadCheckpoint('mismatch', 'last', dirs.path);
  assert.doesNotThrow(() => assertCompatible(ckpt, config, corpus.hash, modelShapeOf(corpus)));
  // Training keys may differ (e.g. more epochs on resume).
  assert.doesNotThrow(() => assertCompatible(ckpt, tinyConfig({ 'train.indexing_epochs': 99 }), corpus.hash));
  assert.throws(() => assertCompatible(ckpt, tinyConfig({ 'model.embed_dim': 64, 'model.encoder_layers': 2 }), corpus.hash), (e: unknown) => {
    assert.ok(e instanceof UserError, 'e instanceof UserError');
    assert.match(e.message, /model\.embed_dim: checkpoint 32, config 64/);
    assert.match(e.message, /model\.encoder_layers: checkpoint 1, config 2/);
    return true;
  });
  assert.throws(() => assertCompatible(ckpt, config, 'otherhash'), /corpus hash: checkpoint tinycorpus0001, current data otherhash/);
});

test('dsi train --resume: refuses a changed model, continues otherwise, and refuses to overwrite a run; --from branches phase 2 off the index of a run', async () => {
  // A real folder source of 2 classes x 4 photos, through prepareCorpus and its cache.
  const root = join(dirs.path, 'images');
  for (const cls of sampleClasses().slice(0, 2)) {
    mkdirSync(join(root, cls), { recursive: true });
    for (const f of readdirSync(join(IMAGENETTE, cls)).sort().slice(0, 4)) copyFileSync(join(IMAGENETTE, cls, f), join(root, cls, f));
  }
  const common = {
    checkpointsDir: join(dirs.path, 'cli-ckpt'),
    experimentsDir: join(dirs.path, 'cli-exp'),
    cacheRoot: join(dirs.path, 'cache'),
    backend: 'wasm' as const,
    log: () => {},
  };
  const sets = [
    `data.root=${root}`, 'data.source=folder', 'data.num_images=8', 'data.min_images_per_class=4', 'data.retrieval_fraction=0.5',
    'data.image_size=32', 'model.patch_size=8', 'model.embed_dim=32', 'model.ffn_dim=64', 'model.encoder_layers=1', 'model.decoder_layers=1',
    'train.indexing_epochs=2', 'train.retrieval_epochs=1', 'train.workers=1', 'tracking.wandb=disabled',
  ];
  const first = await launchTraining({ ...common, overrides: sets, run: 'cli', stopAfterEpochs: 1 });
  assert.equal(first.completed, false);
  await assert.rejects(launchTraining({ ...common, overrides: sets, run: 'cli' }), /run "cli" already has checkpoints.*--resume/);
  await assert.rejects(launchTraining({ ...common, overrides: ['model.embed_dim=64'], resume: 'latest' }), /model\.embed_dim: checkpoint 32, config 64/);
  await assert.rejects(launchTraining({ ...common, overrides: ['data.num_images=6'], resume: '', run: 'cli' }), /corpus hash: checkpoint \w+, current data \w+/);
  const resumed = await launchTraining({ ...common, overrides: ['train.indexing_epochs=3'], resume: 'latest' });
  assert.equal(resumed.completed, true);
  assert.equal(resumed.runName, 'cli');
  assert.equal(resumed.state.indexingEpochsRun, 3, 'the --set on resume applied to the checkpoint config');
  assert.ok(existsSync(join(common.checkpointsDir, 'cli', 'indexing', 'checkpoint.json')), 'existsSync(join(common.checkpointsDir, \'cli\', \'indexing\', \'checkpoint.json\'))');
  const run = JSON.parse(readFileSync(join(common.experimentsDir, 'cli', 'run.json'), 'utf8'));
  assert.equal(run.backend, 'wasm');

  // A branch (--from) starts phase 2 from the run's indexing checkpoint: with the same settings it
  // retraces the source's phase 2 exactly, and its store carries the source's phase-1 history.
  const branch = await launchTraining({ ...common, from: 'cli', run: 'cli-branch' });
  assert.equal(branch.completed, true);
  const [a, b] = await Promise.all([loadCheckpoint('cli', 'retrieval', common.checkpointsDir), loadCheckpoint('cli-branch', 'retrieval', common.checkpointsDir)]);
  a.weights.forEach((w, i) => assert.deepEqual(b.weights[i].data, w.data, `branch weight ${w.name} differs from the source's phase 2`));
  assert.ok(existsSync(join(common.checkpointsDir, 'cli-branch', 'indexing', 'checkpoint.json')), 'the branch has its own zero-shot checkpoint');
  const metrics = (name: string) => readFileSync(join(common.experimentsDir, name, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(metrics('cli-branch').map((r) => [r.phase, r.epoch, r.loss]), metrics('cli').map((r) => [r.phase, r.epoch, r.loss]));
  const branchRun = JSON.parse(readFileSync(join(common.experimentsDir, 'cli-branch', 'run.json'), 'utf8'));
  assert.equal(branchRun.branched_from, 'cli');
  assert.deepEqual(branchRun.phases_done, ['indexing', 'retrieval']);
  const replay = await launchTraining({ ...common, from: 'cli', run: 'cli-replay', overrides: ['train.index_replay=1'] });
  assert.equal(replay.completed, true);
  await assert.rejects(launchTraining({ ...common, from: 'cli', run: 'cli-branch' }), /run "cli-branch" already has checkpoints/);
  await assert.rejects(launchTraining({ ...common, from: 'nope', run: 'x' }), /no run "nope"/);
  await assert.rejects(launchTraining({ ...common, from: 'cli', resume: 'cli' }), /--from starts a new run and --resume continues one/);
  await assert.rejects(launchTraining({ ...common, from: 'cli', run: 'y', overrides: ['model.ffn_dim=128'] }), /model\.ffn_dim: checkpoint 64, config 128/);
});

test('a checkpoint write that fails (a full disk) removes its half-written temp folder and keeps the previous checkpoint', async () => {
  const root = join(dirs.path, 'failing-write');
  const data = {
    config: tinyConfig(),
    corpusHash: 'tinycorpus0001',
    shape: { imageSize: 32, idLength: 2 },
    backend: 'wasm',
    engine: { weights: [{ name: 'w', shape: [2], dtype: 'float32', data: new Float32Array([1, 2]) }], optimizer: [], step: 1 },
    trainer: initialTrainerState(1),
  } as unknown as CheckpointData;
  await saveCheckpoint('r', 'last', data, root);
  // A write error in the middle of the folder (here: a tensor that cannot be packed).
  const broken = { ...data, engine: { ...data.engine, optimizer: null } } as unknown as CheckpointData;
  await assert.rejects(saveCheckpoint('r', 'last', broken, root));
  assert.deepEqual(readdirSync(join(root, 'r')).filter((n) => n.startsWith('.tmp-')), []);
  assert.equal((await loadCheckpoint('r', 'last', root)).engine.step, 1);
});
