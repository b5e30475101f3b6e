// Each kernel in src/model/kernels equals the plain formulation it stands for, in value and gradient.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/runtime/backend.ts';
import { gatherRows } from '../src/model/kernels/gather-rows.ts';
import { attendByImage, groupRowsByImage } from '../src/model/kernels/attention-by-image.ts';
import { plainAttention } from '../src/model/kernels/attention.ts';
import { mergeHeads, splitHeads, checkShape } from '../src/model/shapes.ts';
import { installWasmKernels } from '../src/model/kernels/wasm-kernels.ts';

before(async () => {
  await initBackend('wasm');
});

async function close(x: tf.Tensor, y: tf.Tensor, what: string, tol = 1e-4): Promise<void> {
  assert.deepEqual(x.shape, y.shape, `${what} shape`);
  const [a, b] = [await x.data(), await y.data()];
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < tol * (1 + Math.abs(b[i])), `${what}[${i}] ${v} vs ${b[i]}`));
}

/** Value and gradients of sum(f(inputs) * w) for the kernel and the reference. */
async function sameValueAndGradients(kernel: (...x: tf.Tensor[]) => tf.Tensor, reference: (...x: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]): Promise<void> {
  const out = reference(...inputs);
  await close(kernel(...inputs), out, 'value');
  const w = tf.randomNormal(out.shape, 0, 1, 'float32', 99);
  const loss = (f: typeof kernel) => (...x: tf.Tensor[]) => tf.sum(tf.mul(f(...x), w));
  const g1 = tf.grads(loss(kernel))(inputs);
  const g2 = tf.grads(loss(reference))(inputs);
  for (let i = 0; i < inputs.length; i++) await close(g1[i], g2[i], `gradient of input ${i}`);
}

describe('model kernels', () => {
  it('gatherRows = one-hot(index) @ x', async () => {
    const x = tf.randomNormal([5, 6], 0, 1, 'float32', 1) as tf.Tensor2D;
    const index = tf.tensor1d([4, 0, 0, 2, 4, 4, 1], 'int32');
    await sameValueAndGradients(
      (a) => gatherRows(a as tf.Tensor2D, index),
      (a) => tf.matMul(tf.cast(tf.oneHot(index, 5), 'float32'), a as tf.Tensor2D),
      [x],
    );
  });

  it('attendByImage = every row attending to a copy of its image\'s keys and values', async () => {
    // 7 rows of 3 positions over 3 images, uneven and out of order; 2 heads of 4; 5 memory rows per image.
    const memoryIndex = Int32Array.from([2, 0, 2, 1, 0, 2, 2]);
    const [rows, len, images, memLen, heads, d] = [7, 3, 3, 5, 2, 8];
    const q = tf.randomNormal([rows * len, d], 0, 1, 'float32', 2);
    const k = tf.randomNormal([images * memLen, d], 0, 1, 'float32', 3);
    const v = tf.randomNormal([images * memLen, d], 0, 1, 'float32', 4);
    const groups = groupRowsByImage(memoryIndex, images);
    // Copy of each row's image as a one-hot matMul (tf.gather has no gradient on wasm).
    const pick = tf.cast(tf.oneHot(tf.tensor1d(memoryIndex, 'int32'), images), 'float32') as tf.Tensor2D;
    const perRow = (m: tf.Tensor) => tf.reshape(tf.matMul(pick, tf.reshape(m, [images, memLen * d]) as tf.Tensor2D), [rows * memLen, d]) as tf.Tensor2D;
    const reference = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) => {
      const out = plainAttention(
        splitHeads(qq as tf.Tensor2D, rows, len, heads),
        splitHeads(perRow(kk), rows, memLen, heads),
        splitHeads(perRow(vv), rows, memLen, heads),
        null,
        1 / Math.sqrt(d / heads),
      );
      return mergeHeads(out, rows, len, heads);
    };
    await sameValueAndGradients(
      (qq, kk, vv) => attendByImage(qq as tf.Tensor2D, kk as tf.Tensor2D, vv as tf.Tensor2D, groups, len, heads),
      reference,
      [q, k, v],
    );
  });

  it('the in-place wasm Slice/SplitV/Unpack/GatherV2 copy exactly the values of slicing on the host', async () => {
    installWasmKernels();
    const shape = [3, 4, 5, 6];
    const values = Float32Array.from({ length: 360 }, (_, i) => i * 0.5 - 7);
    const at = (i: number, j: number, k: number, l: number) => values[((i * 4 + j) * 5 + k) * 6 + l];
    const x = tf.tensor4d(values, shape as [number, number, number, number]);
    const expected: number[] = [];
    for (let i = 1; i < 3; i++) for (let j = 0; j < 4; j++) for (let k = 2; k < 4; k++) for (let l = 1; l < 6; l++) expected.push(at(i, j, k, l));
    assert.deepEqual([...(await tf.slice(x, [1, 0, 2, 1], [2, 4, 2, 5]).data())], expected);
    const m = tf.reshape(x, [60, 6]) as tf.Tensor2D;
    const parts = tf.split(m, [1, 3, 2], 1);
    const cols = [[0, 1], [1, 4], [4, 6]];
    for (let p = 0; p < 3; p++) {
      const want: number[] = [];
      for (let r = 0; r < 60; r++) for (let c = cols[p][0]; c < cols[p][1]; c++) want.push(values[r * 6 + c]);
      assert.deepEqual([...(await parts[p].data())], want);
    }
    assert.deepEqual([...(await tf.slice(tf.tensor1d([1, 2, 3, 4]), [1], [2]).data())], [2, 3]);
    // Unstack and row gather.
    const groups = tf.unstack(tf.reshape(x, [12, 5, 6]));
    for (const g of [0, 7, 11]) assert.deepEqual([...(await groups[g].data())], [...values.subarray(g * 30, (g + 1) * 30)]);
    const rows = await tf.gather(m, tf.tensor1d([59, 0, 3, 3], 'int32')).data();
    assert.deepEqual([...rows], [59, 0, 3, 3].flatMap((r) => [...values.subarray(r * 6, (r + 1) * 6)]));
    assert.throws(() => tf.gather(m, tf.tensor1d([60], 'int32')), /not in \[0, 59\]/);
    // The gradient of split is tfjs's own (concat of the output gradients).
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.split(t as tf.Tensor2D, [1, 3, 2], 1)[1], 2)))(m);
    const gv = await g.data();
    gv.forEach((v, i) => assert.equal(v, i % 6 >= 1 && i % 6 < 4 ? 2 : 0));
  });

  it('the sharing wasm Identity: a clone keeps its values after the original is disposed, and frees its memory', async () => {
    installWasmKernels();
    const before = tf.memory().numBytes;
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    const y = tf.clone(x);
    x.dispose();
    assert.deepEqual([...(await y.data())], [1, 2, 3, 4]);
    y.dispose();
    assert.equal(tf.memory().numBytes, before);
  });

  it('checkShape names the block and both shapes', () => {
    assert.throws(() => checkShape(tf.zeros([2, 3]), [2, 4], 'encoder block output'), /encoder block output: expected shape \[2, 4\], got \[2, 3\]/);
    checkShape(tf.zeros([2, 3]), [2, 3], 'fine');
  });
});
