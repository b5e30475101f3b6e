import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { loadConfig } from '../src/config/load.ts';
import { tokenCrossEntropy } from '../src/model/loss.ts';
import { initBackend } from '../src/runtime/backend.ts';
import { Adam } from '../src/train/engine/adam.ts';
import { isConstant, learningRateAt } from '../src/train/schedule.ts';

before(async () => {
  await initBackend('cpu');
});

test('the reference config keeps Adam at a constant rate, no smoothing, no clipping', () => {
  const t = loadConfig(null, []).config.train;
  assert.deepEqual([t.weight_decay, t.lr_schedule, t.warmup_steps, t.label_smoothing, t.grad_clip_norm, t.schedule], [0, 'constant', 0, 0, 0, 'two_phase']);
  assert.equal(isConstant({ schedule: t.lr_schedule, warmupSteps: t.warmup_steps }), true);
});

test('warm-up then cosine: linear ramp over the first steps, half the rate mid-phase, 0 at the end', () => {
  const s = { base: 1e-3, schedule: 'cosine' as const, warmupSteps: 10, phaseEpochs: 20 };
  assert.ok(Math.abs(learningRateAt(s, 0, 0) - 1e-4) < 1e-12, 'Math.abs(learningRateAt(s, 0, 0) - 1e-4) < 1e-12');
  assert.ok(Math.abs(learningRateAt(s, 9, 0) - 1e-3) < 1e-12, 'Math.abs(learningRateAt(s, 9, 0) - 1e-3) < 1e-12');
  assert.ok(Math.abs(learningRateAt(s, 100, 10) - 5e-4) < 1e-12, 'Math.abs(learningRateAt(s, 100, 10) - 5e-4) < 1e-12');
  assert.ok(learningRateAt(s, 1000, 20) < 1e-12, 'learningRateAt(s, 1000, 20) < 1e-12');
  assert.equal(learningRateAt({ ...s, schedule: 'constant' }, 50, 19), 1e-3);
});

test('AdamW decays matrices only, decoupled from the gradient; clipping scales the global gradient norm', async () => {
  const w = tf.variable(tf.ones([2, 2]));
  const b = tf.variable(tf.ones([2]));
  const vars = new Map([['w', w], ['b', b]]);
  const adam = new Adam(vars, 0.1, { weightDecay: 0.5 });
  adam.apply(new Map([['w', tf.zeros([2, 2])], ['b', tf.zeros([2])]]));
  assert.deepEqual([...(await w.data())].map((v) => +v.toFixed(6)), [0.95, 0.95, 0.95, 0.95]);
  assert.deepEqual([...(await b.data())], [1, 1]);

  const clipped = new Adam(new Map([['w', tf.variable(tf.zeros([2, 2]))], ['b', tf.variable(tf.zeros([2]))]]), 0.1, { clipNorm: 1 });
  // Global norm of these gradients: sqrt(4 x 9 + 2 x 16) = sqrt(68).
  clipped.apply(new Map([['w', tf.fill([2, 2], 3)], ['b', tf.fill([2], 4)]]));
  const m = await clipped.getState();
  const mw = m.find((s) => s.name === 'w.adam_m')!.data[0];
  assert.ok(Math.abs(mw - (0.1 * 3) / Math.sqrt(68)) < 1e-6, `first moment ${mw}`);
  const unclipped = new Adam(new Map([['w', tf.variable(tf.zeros([2, 2]))]]), 0.1, { clipNorm: 100 });
  unclipped.apply(new Map([['w', tf.fill([2, 2], 3)]]));
  assert.ok(Math.abs((await unclipped.getState())[0].data[0] - 0.3) < 1e-6, 'below the threshold nothing changes');
});

test('label smoothing: cross-entropy against (1 - e) one-hot + e / vocabulary; e = 0 is the plain loss', async () => {
  const logits = tf.tensor3d([[[0.5, 1, -1, 0, 2, 0, 0, 0, 0, 0, 0.3, 0, 0], Array(13).fill(0)]]);
  const targets = tf.tensor2d([[4, 12]], [1, 2], 'int32'); // second position is PAD: ignored
  const plain = (await tokenCrossEntropy(logits, targets).lossSum.data())[0];
  const smooth = (await tokenCrossEntropy(logits, targets, 0.1).lossSum.data())[0];
  const logp = Array.from(await tf.logSoftmax(tf.tensor1d((await logits.data()).slice(0, 13) as Float32Array)).data());
  assert.ok(Math.abs(plain + logp[4]) < 1e-5, 'Math.abs(plain + logp[4]) < 1e-5');
  const expected = -(0.9 * logp[4] + (0.1 / 13) * logp.reduce((a, v) => a + v, 0));
  assert.ok(Math.abs(smooth - expected) < 1e-5, `${smooth} vs ${expected}`);
});
