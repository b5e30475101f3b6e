import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { createDsiModel, exportWeights } from '../src/model/dsi-model.ts';
import { initBackend } from '../src/runtime/backend.ts';
import { createDenseEngine, type DenseBatch, type DenseEngineOptions } from '../src/train/dense/engine.ts';
import { realImages, tinyModel, trainConfig } from './model-fixtures.ts';

let backend = '';
before(async () => {
  backend = await initBackend('wasm');
});

const SIZE = 32;

function options(workers: number, dropout: number, objective: 'contrastive' | 'classifier' = 'contrastive'): DenseEngineOptions {
  return {
    model: tinyModel({ patch_size: 8, dropout }),
    train: trainConfig({ seed: 11, workers, learning_rate: 0.003, dense_objective: objective }),
    shape: { imageSize: SIZE, idLength: 2 },
    backend,
    classes: 3,
  };
}

/** 7 real photos (an odd count, so the shards differ in size) in 3 classes. */
async function batch(): Promise<DenseBatch> {
  const images = await realImages(7, SIZE);
  const classes = [0, 0, 1, 1, 1, 2, 2];
  const positives = new Float32Array(49);
  classes.forEach((a, i) => classes.forEach((b, j) => (positives[i * 7 + j] = i !== j && a === b ? 1 : 0)));
  const targets = new Float32Array(7 * 3);
  classes.forEach((c, i) => (targets[i * 3 + c] = 1));
  return { pixels: Float32Array.from(images), count: 7, positives, targets };
}

async function train(workers: number, dropout: number, steps: number, objective: 'contrastive' | 'classifier' = 'contrastive') {
  const engine = await createDenseEngine(options(workers, dropout, objective));
  try {
    const b = await batch();
    const losses: number[] = [];
    const tensorsBefore = tf.memory().numTensors;
    for (let s = 0; s < steps; s++) losses.push(await engine.step({ ...b, pixels: b.pixels.slice() }, 100 + s));
    // Nothing of a step stays on this thread (the classifier's class vectors and their Adam slots are made once).
    assert.equal(tf.memory().numTensors, tensorsBefore, 'tensors leaked by the steps');
    return { losses, weights: await engine.weights(), workers: engine.workers };
  } finally {
    await engine.dispose();
  }
}

describe('dense dual-encoder engine', () => {
  it('two worker threads take the same steps as one thread (the chain-rule split is the same gradient)', async () => {
    const one = await train(1, 0, 3);
    const two = await train(2, 0, 3);
    assert.equal(two.workers, 2);
    one.losses.forEach((l, i) => assert.ok(Math.abs(l - two.losses[i]) < 1e-4, `step ${i}: loss ${l} vs ${two.losses[i]}`));
    assert.ok(one.losses[2] < one.losses[0], `the loss falls: ${one.losses.join(', ')}`);
    let worst = 0;
    one.weights.forEach((w, p) => w.data.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - two.weights[p].data[j])))));
    assert.ok(worst < 1e-4, `weights after 3 steps differ by ${worst}`);
    // Only the encoder is trained: the decoder keeps its seeded initial values.
    const fresh = createDsiModel(options(1, 0).model, options(1, 0).shape, 11);
    const initial = new Map((await exportWeights(fresh.variables)).map((w) => [w.name, w.data]));
    fresh.dispose();
    const decoder = two.weights.filter((w) => w.name.startsWith('decoder.'));
    assert.ok(decoder.length > 0, 'decoder.length > 0');
    for (const w of decoder) assert.deepEqual(w.data, initial.get(w.name), w.name);
    const encoder = two.weights.filter((w) => w.name.startsWith('encoder.'));
    assert.ok(encoder.some((w) => w.data.some((v, j) => v !== initial.get(w.name)![j])), 'the encoder moved');
  });

  it('the cosine-classifier objective: two threads equal one, and its loss falls', async () => {
    const one = await train(1, 0, 4, 'classifier');
    const two = await train(2, 0, 4, 'classifier');
    one.losses.forEach((l, i) => assert.ok(Math.abs(l - two.losses[i]) < 1e-4, `step ${i}: loss ${l} vs ${two.losses[i]}`));
    assert.ok(one.losses[3] < one.losses[0], `the loss falls: ${one.losses.join(', ')}`);
    let worst = 0;
    one.weights.forEach((w, p) => w.data.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - two.weights[p].data[j])))));
    assert.ok(worst < 1e-4, `weights after 4 steps differ by ${worst}`);
  });

  it('with dropout, the parallel step is deterministic for a seed', async () => {
    const a = await train(2, 0.1, 2);
    const b = await train(2, 0.1, 2);
    assert.deepEqual(a.losses, b.losses);
  });
});
