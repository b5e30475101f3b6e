/**
 * Shifted patch tokenization and locality self-attention (model.patch_tokenizer: shifted,
 * model.locality_attention): the shifts are what the paper describes, a plain model is unchanged,
 * and the new weights are trained (they receive gradients) and saved (checkpoint round trip).
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/runtime/backend.ts';
import { createDsiModel, exportWeights, modelFromState } from '../src/model/dsi-model.ts';
import { diagonalMask, shiftedImages } from '../src/model/transformer.ts';
import { attend } from '../src/model/kernels/attention.ts';
import { tokenCrossEntropy } from '../src/model/loss.ts';
import { BEGIN, END } from '../src/data/ids.ts';
import { randomPixels, tinyModel } from './model-fixtures.ts';

const shape = { imageSize: 16, idLength: 3 };

before(async () => {
  await initBackend('wasm');
});

const images = (count: number, seed = 1) => tf.tensor4d(Float32Array.from(randomPixels(count, 16, seed)), [count, 16, 16, 3]);

describe('shifted patch tokenization', () => {
  it('stacks the image and four copies shifted by half a patch towards each corner, zeros moving in', async () => {
    const img = images(1, 4);
    const stacked = shiftedImages(img, 4); // half a patch = 2 pixels
    assert.deepEqual(stacked.shape, [1, 16, 16, 15]);
    const x = (await img.data()) as Float32Array;
    const s = (await stacked.data()) as Float32Array;
    const original = (y: number, xx: number, c: number) => (y < 0 || y >= 16 || xx < 0 || xx >= 16 ? 0 : x[(y * 16 + xx) * 3 + c] / 127.5 - 1);
    const at = (y: number, xx: number, ch: number) => s[(y * 16 + xx) * 15 + ch];
    // Copy k (channels 3+3k..) shows the image moved by (my, mx): pixel (y, x) holds original (y - my, x - mx).
    const moves: Array<[number, number]> = [[2, 2], [2, -2], [-2, 2], [-2, -2]];
    for (const y of [0, 1, 5, 14, 15]) {
      for (const xx of [0, 1, 7, 14, 15]) {
        for (let c = 0; c < 3; c++) {
          assert.ok(Math.abs(at(y, xx, c) - original(y, xx, c)) < 1e-6, 'channels 0..2 are the image');
          moves.forEach(([my, mx], k) => {
            assert.ok(Math.abs(at(y, xx, 3 + 3 * k + c) - original(y - my, xx - mx, c)) < 1e-6, `copy ${k} at (${y}, ${xx})`);
          });
        }
      }
    }
    tf.dispose([img, stacked]);
  });
});

describe('small-data ViT options', () => {
  it('add only their own parameters: a plain model keeps its names and seeded values', async () => {
    const plain = createDsiModel(tinyModel({ patch_size: 4 }), shape, 3);
    const local = createDsiModel(tinyModel({ patch_size: 4, locality_attention: true }), shape, 3);
    const both = createDsiModel(tinyModel({ patch_size: 4, patch_tokenizer: 'shifted', locality_attention: true }), shape, 3);
    const [wp, wl, wb] = await Promise.all([plain, local, both].map((m) => exportWeights(m.variables)));
    const extra = (ws: typeof wp) => ws.filter((w) => !wp.some((p) => p.name === w.name)).map((w) => w.name).sort();
    assert.deepEqual(extra(wl), ['encoder.0.attn.scale']);
    assert.deepEqual(extra(wb), ['encoder.0.attn.scale', 'encoder.patch_norm.b', 'encoder.patch_norm.g']);
    // The temperature is a constant (no random draw): every other parameter starts as in the plain model.
    for (const p of wp) assert.deepEqual(wl.find((w) => w.name === p.name)!.data, p.data, p.name);
    assert.deepEqual(wl.find((w) => w.name === 'encoder.0.attn.scale')!.data, Float32Array.from([1 / Math.sqrt(32 / 4)]));
    assert.deepEqual(wb.find((w) => w.name === 'encoder.patch.w')!.shape, [4 * 4 * 15, 32]);
    [plain, local, both].forEach((m) => m.dispose());
  });

  it('train the temperature and the patch LayerNorm, and round-trip through a checkpoint', async () => {
    const cfg = tinyModel({ patch_size: 4, patch_tokenizer: 'shifted', locality_attention: true });
    const model = createDsiModel(cfg, shape, 8);
    const img = images(2, 9);
    const tokens = tf.tensor2d([[BEGIN, 1, 2, 3], [BEGIN, 4, 5, 6]], [2, 4], 'int32');
    const targets = tf.tensor2d([[1, 2, 3, END], [4, 5, 6, END]], [2, 4], 'int32');
    const names = ['encoder.0.attn.scale', 'encoder.patch_norm.g'];
    const vars = names.map((n) => model.variables.get(n)!);
    const { grads } = tf.variableGrads(() => tokenCrossEntropy(model.forward(img, tokens, null, { training: false }), targets).lossSum, vars);
    for (const n of vars.map((v) => v.name)) {
      const g = (await grads[n].data()) as Float32Array;
      assert.ok(g.some((v) => v !== 0 && Number.isFinite(v)), `${n} gets a gradient`);
    }
    const copy = modelFromState(cfg, shape, await exportWeights(model.variables));
    const a = tf.tidy(() => model.forward(img, tokens, null, { training: false }));
    const b = tf.tidy(() => copy.forward(img, tokens, null, { training: false }));
    assert.deepEqual(await a.data(), await b.data());
    // The learned scale is what the scores use: changing it changes the output.
    model.variables.get('encoder.0.attn.scale')!.assign(tf.tensor1d([3]));
    const c = tf.tidy(() => model.forward(img, tokens, null, { training: false }));
    assert.notDeepEqual(await a.data(), await c.data());
    tf.dispose([img, tokens, targets, a, b, c, ...Object.values(grads)]);
    model.dispose();
    copy.dispose();
  });

  it('locality attention keeps a patch from attending to itself', async () => {
    // With the diagonal mask, row i's output is a mix of the other rows' values only: changing
    // row i's own value leaves its output unchanged and moves every other row's.
    const q = tf.randomNormal([1, 4, 8], 0, 1, 'float32', 1) as tf.Tensor3D;
    const k = tf.randomNormal([1, 4, 8], 0, 1, 'float32', 2) as tf.Tensor3D;
    const v = tf.randomNormal([1, 4, 8], 0, 1, 'float32', 3) as tf.Tensor3D;
    const bump = tf.tensor3d([0, 0, 5, 0].flatMap((r) => new Array(8).fill(r)), [1, 4, 8]);
    const mask = diagonalMask(4);
    const before = (await attend(q, k, v, mask).data()) as Float32Array;
    const after = (await attend(q, k, tf.add(v, bump) as tf.Tensor3D, mask).data()) as Float32Array;
    for (let row = 0; row < 4; row++) {
      const moved = Math.max(...Array.from({ length: 8 }, (_, c) => Math.abs(after[row * 8 + c] - before[row * 8 + c])));
      if (row === 2) assert.ok(moved < 1e-6, 'row 2 ignores its own value');
      else assert.ok(moved > 1e-3, `row ${row} reads row 2`);
    }
    tf.dispose([q, k, v, bump, mask]);
  });
});
