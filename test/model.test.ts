import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/runtime/backend.ts';
import { createDsiModel, exportWeights, modelFromState } from '../src/model/dsi-model.ts';
import { tokenCrossEntropy } from '../src/model/loss.ts';
import { dense } from '../src/model/kernels/dense.ts';
import { BEGIN, END, PAD } from '../src/data/ids.ts';
import { randomPixels, tinyModel } from './model-fixtures.ts';

const shape = { imageSize: 16, idLength: 3 };

before(async () => {
  await initBackend('wasm');
});

function images(count: number, seed = 1): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(randomPixels(count, 16, seed)), [count, 16, 16, 3]);
}

describe('DSI model', () => {
  it('encodes to [B, patches, D] and decodes to [R, T, 13] logits', () => {
    const model = createDsiModel(tinyModel({ patch_size: 4 }), shape, 1);
    tf.tidy(() => {
      const memory = model.encode(images(3), { training: false });
      assert.deepEqual(memory.shape, [3, 16, 32]);
      const tokens = tf.tensor2d([[BEGIN, 1, 2, 3], [BEGIN, 4, END, PAD], [BEGIN, 0, 0, 0]], [3, 4], 'int32');
      assert.deepEqual(model.decode(memory, tokens, { training: false }).shape, [3, 4, 13]);
      // Two targets of image 0 and one of image 2, through memoryIndex.
      const logits = model.decode(memory, tokens, { training: false }, Int32Array.from([0, 0, 2]));
      assert.deepEqual(logits.shape, [3, 4, 13]);
    });
    model.dispose();
  });

  it('decoding many rows per image (grouped cross-attention) equals decoding a copy of the image per row', async () => {
    // 20 rows over 3 images, unevenly and out of order: 9 read image 2, 7 image 0, 4 image 1.
    const model = createDsiModel(tinyModel({ patch_size: 4, num_heads: 2 }), shape, 4);
    const index = Array.from({ length: 20 }, (_, r) => [2, 0, 2, 1, 0][r % 5]);
    const [grouped, copied] = tf.tidy(() => {
      const memory = model.encode(images(3, 9), { training: false });
      const tokens = tf.tensor2d(index.map((_, r) => [BEGIN, r % 10, (3 * r) % 10, END]), [20, 4], 'int32');
      const byIndex = model.decode(memory, tokens, { training: false }, Int32Array.from(index));
      const byCopy = model.decode(tf.gather(memory, tf.tensor1d(index, 'int32')) as tf.Tensor3D, tokens, { training: false });
      return [byIndex, byCopy];
    });
    const a = (await grouped.data()) as Float32Array;
    const b = (await copied.data()) as Float32Array;
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-4, `logit ${i}: ${v} vs ${b[i]}`));
    tf.dispose([grouped, copied]);
    model.dispose();
  });

  it('is causal: changing a later decoder token leaves earlier logits unchanged', async () => {
    const model = createDsiModel(tinyModel({ patch_size: 4 }), shape, 2);
    const [a, b] = tf.tidy(() => {
      const memory = model.encode(images(1), { training: false });
      const run = (t: number[]) => model.decode(memory, tf.tensor2d([t], [1, 4], 'int32'), { training: false });
      return [run([BEGIN, 3, 1, 4]), run([BEGIN, 3, 9, 0])];
    });
    const da = (await a.array())[0];
    const db = (await b.array())[0];
    // Positions 0 and 1 see only BEGIN and "3": identical. Position 2 sees the changed token.
    for (const pos of [0, 1]) for (let v = 0; v < 13; v++) assert.equal(da[pos][v], db[pos][v], `position ${pos}`);
    assert.ok(da[2].some((x, v) => Math.abs(x - db[2][v]) > 1e-6), 'position 2 must depend on token 2');
    tf.dispose([a, b]);
    model.dispose();
  });

  it('incremental decoding (cached keys/values, beams reordered) gives the logits of the full decoder', async () => {
    const model = createDsiModel(tinyModel({ patch_size: 4, num_heads: 2, decoder_layers: 2 }), shape, 6);
    const memory = tf.tidy(() => model.encode(images(3, 4), { training: false }));
    // Narrow: step 1 has 5 rows continuing rows 2,0,0,1,2 (out of image order), step 2 has 4.
    // Wide: step 1 gives image 0 more rows than the batched cross-attention takes (the per-piece
    // path, rows out of order), step 2 drops image 1 entirely (its query finished).
    const wideParents = [0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0];
    const scenarios = {
      narrow: [
        { tokens: [BEGIN, BEGIN, BEGIN], parents: null, images: [0, 1, 2] },
        { tokens: [7, 1, 2, 5, 9], parents: [2, 0, 0, 1, 2], images: [2, 0, 0, 1, 2] },
        { tokens: [3, 3, 0, END], parents: [4, 1, 2, 0], images: [2, 0, 0, 2] },
      ],
      wide: [
        { tokens: [BEGIN, BEGIN, BEGIN], parents: null, images: [0, 1, 2] },
        { tokens: wideParents.map((_, r) => r % 10), parents: wideParents, images: wideParents },
        { tokens: [4, END, 6], parents: [12, 2, 7], images: [0, 2, 2] },
      ],
    };
    for (const [name, steps] of Object.entries(scenarios)) {
      const before = tf.memory().numTensors;
      const dec = model.startDecoding(memory);
      let sequences: number[][] = [];
      for (const step of steps) {
        sequences = step.tokens.map((tok, r) => [...(step.parents ? sequences[step.parents[r]] : []), tok]);
        const cached = dec.step(Int32Array.from(step.tokens), step.parents && Int32Array.from(step.parents), Int32Array.from(step.images));
        const full = tf.tidy(() => {
          const len = sequences[0].length;
          const logits = model.decode(memory, tf.tensor2d(sequences, [sequences.length, len], 'int32'), { training: false }, Int32Array.from(step.images));
          return tf.reshape(tf.slice(logits, [0, len - 1, 0], [sequences.length, 1, 13]), [sequences.length, 13]);
        });
        const [a, b] = [await cached.data(), await full.data()];
        assert.deepEqual(cached.shape, full.shape);
        a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-4, `${name}, position ${sequences[0].length - 1}, logit ${i}: ${v} vs ${b[i]}`));
        tf.dispose([cached, full]);
      }
      dec.dispose();
      assert.equal(tf.memory().numTensors, before, `${name}: the incremental decoder frees its cache`);
    }
    memory.dispose();
    model.dispose();
  });

  it('same seed gives identical weights, another seed different ones', async () => {
    const cfg = tinyModel({ patch_size: 4 });
    const m1 = createDsiModel(cfg, shape, 5);
    const m2 = createDsiModel(cfg, shape, 5);
    const m3 = createDsiModel(cfg, shape, 6);
    const [w1, w2, w3] = await Promise.all([m1, m2, m3].map((m) => exportWeights(m.variables)));
    assert.deepEqual(w1.map((w) => w.name), w2.map((w) => w.name));
    assert.deepEqual(w1, w2);
    assert.notDeepEqual(w1[0].data, w3[0].data);
    [m1, m2, m3].forEach((m) => m.dispose());
  });

  it('modelFromState reproduces the logits of the model whose weights it got', async () => {
    const cfg = tinyModel({ patch_size: 4, positional: 'learned' });
    const m1 = createDsiModel(cfg, shape, 9);
    const m2 = modelFromState(cfg, shape, await exportWeights(m1.variables));
    const tokens = tf.tensor2d([[BEGIN, 1, 2, END]], [1, 4], 'int32');
    const img = images(1, 3);
    const l1 = tf.tidy(() => m1.forward(img, tokens, null, { training: false }));
    const l2 = tf.tidy(() => m2.forward(img, tokens, null, { training: false }));
    assert.deepEqual(await l1.data(), await l2.data());
    assert.throws(() => modelFromState(tinyModel({ patch_size: 4, embed_dim: 64 }), shape, [{ name: 'x', shape: [1], dtype: 'float32', data: new Float32Array(1) }]), /parameter/);
    tf.dispose([l1, l2, tokens, img]);
    m1.dispose();
    m2.dispose();
  });

  it('dropout is seeded: same seed same output, other seed different, off when not training', async () => {
    const model = createDsiModel(tinyModel({ patch_size: 4, dropout: 0.3 }), shape, 3);
    const img = images(2);
    const run = (training: boolean, seed?: number) => tf.tidy(() => model.encode(img, { training, seed }));
    const [a, b, c, d] = [run(true, 11), run(true, 11), run(true, 12), run(false)];
    assert.deepEqual(await a.data(), await b.data());
    assert.notDeepEqual(await a.data(), await c.data());
    assert.notDeepEqual(await a.data(), await d.data());
    tf.dispose([a, b, c, d, img]);
    model.dispose();
  });
});

describe('loss', () => {
  it('ignores PAD positions: their logits change nothing, and they are not counted', async () => {
    const targets = tf.tensor2d([[1, 2, END, PAD], [7, END, PAD, PAD]], [2, 4], 'int32');
    const base = tf.randomNormal([2, 4, 13], 0, 1, 'float32', 1) as tf.Tensor3D;
    const padMask = tf.tensor3d([[[0], [0], [0], [1]], [[0], [0], [1], [1]]]);
    const changed = tf.add(base, tf.mul(padMask, tf.randomNormal([2, 4, 13], 0, 5, 'float32', 2))) as tf.Tensor3D;
    const a = tokenCrossEntropy(base, targets);
    const b = tokenCrossEntropy(changed, targets);
    assert.equal((await a.lossSum.data())[0], (await b.lossSum.data())[0]);
    const counts = await a.counts.data();
    assert.equal(counts[0], 5, 'non-PAD tokens: 3 + 2');
    assert.equal(counts[2], 2, 'two ID sequences');
    // And a non-PAD change does move it.
    const c = tokenCrossEntropy(tf.add(base, tf.mul(tf.sub(1, padMask), 3)) as tf.Tensor3D, targets);
    assert.ok(Number.isFinite((await c.lossSum.data())[0]), 'Number.isFinite((await c.lossSum.data())[0])');
    const perfect = tf.mul(tf.cast(tf.oneHot(targets, 13), 'float32'), 50) as tf.Tensor3D;
    const p = await tokenCrossEntropy(perfect, targets).counts.data();
    assert.deepEqual([...p], [5, 5, 2, 2], 'all tokens and both IDs right');
  });
});

describe('dense layer custom gradient', () => {
  it('matches the gradient of a plain matMul + bias', async () => {
    const x = tf.randomNormal([5, 7], 0, 1, 'float32', 3) as tf.Tensor2D;
    const w = tf.randomNormal([7, 4], 0, 1, 'float32', 4) as tf.Tensor2D;
    const b = tf.randomNormal([4], 0, 1, 'float32', 5) as tf.Tensor1D;
    const f1 = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.square(dense(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D)));
    const f2 = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.square(tf.add(tf.matMul(xx as tf.Tensor2D, ww as tf.Tensor2D), bb)));
    const g1 = tf.grads(f1)([x, w, b]);
    const g2 = tf.grads(f2)([x, w, b]);
    for (let i = 0; i < 3; i++) {
      const [a, c] = [await g1[i].data(), await g2[i].data()];
      a.forEach((v, j) => assert.ok(Math.abs(v - c[j]) < 1e-4 * (1 + Math.abs(c[j])), `input ${i} element ${j}`));
    }
  });
});

describe('GELU', () => {
  it('has the tanh-approximation value and a matching derivative', async () => {
    const { gelu } = await import('../src/model/kernels/gelu.ts');
    // Large |x| too: there sigmoid(2z) saturates to 0 or 1 and gelu must still be 0 or x.
    const xs = [-3, -1, -0.2, 0, 0.5, 2, -12, 12];
    const x = tf.tensor2d(xs, [2, 4]);
    const ref = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    const y = await gelu(x).data();
    xs.forEach((v, i) => assert.ok(Math.abs(y[i] - ref(v)) < 1e-5, 'Math.abs(y[i] - ref(v)) < 1e-5'));
    const g = await tf.grad((t: tf.Tensor) => tf.sum(gelu(t as tf.Tensor2D)))(x).data();
    xs.forEach((v, i) => assert.ok(Math.abs(g[i] - (ref(v + 1e-3) - ref(v - 1e-3)) / 2e-3) < 1e-3, `x=${v}`));
  });
});
