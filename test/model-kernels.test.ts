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
import { BATCHED_MAX_ROWS, crossAttendCached, imageRuns, memoryBlocks } from '../src/model/incremental/cross-attention.ts';
import type { CrossAttentionWeights } from '../src/model/weights.ts';

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

  it('cached cross-attention (per-piece and batched paths) = every row attending to its image projected per row', async () => {
    // 15 rows over 4 images, out of order: image 2 has more rows than the batched path takes,
    // image 1 none (its query finished), image 3 one.
    const memoryIndex = Int32Array.from([2, 0, 2, 2, 3, 2, 0, 2, 2, 2, 2, 2, 0, 2, 2]);
    assert.ok(memoryIndex.filter((i) => i === 2).length > BATCHED_MAX_ROWS, 'memoryIndex.filter((i) => i === 2).length > BATCHED_MAX_ROWS');
    const [rows, images, memLen, heads, d] = [memoryIndex.length, 4, 5, 2, 8];
    let seed = 10;
    const lin = (i: number, o: number) => ({ w: tf.variable(tf.randomNormal([i, o], 0, 0.5, 'float32', seed++)), b: tf.variable(tf.randomNormal([o], 0, 0.5, 'float32', seed++)) });
    const w: CrossAttentionWeights = { q: lin(d, d), kv: lin(d, 2 * d), out: lin(d, d) };
    const x = tf.randomNormal([rows, d], 0, 1, 'float32', 5) as tf.Tensor2D;
    const memory = tf.randomNormal([images * memLen, d], 0, 1, 'float32', 6) as tf.Tensor2D;
    const affine = (t: tf.Tensor2D, l: { w: tf.Variable; b: tf.Variable }) => tf.add(tf.matMul(t, l.w), l.b) as tf.Tensor2D;
    // Reference: a copy of its image's memory for every row, the plain formula per head.
    const perRow = tf.reshape(tf.gather(tf.reshape(memory, [images, memLen * d]), tf.tensor1d(memoryIndex, 'int32')), [rows * memLen, d]) as tf.Tensor2D;
    const [k, v] = tf.split(affine(perRow, w.kv), 2, 1) as tf.Tensor2D[];
    const attended = plainAttention(splitHeads(affine(x, w.q), rows, 1, heads), splitHeads(k, rows, memLen, heads), splitHeads(v, rows, memLen, heads), null, 1 / Math.sqrt(d / heads));
    const want = affine(mergeHeads(attended, rows, 1, heads), w.out);
    const blocks = memoryBlocks(memory, w, images, heads);
    const runs = imageRuns(memoryIndex, images);
    assert.deepEqual(runs.images, [0, 2, 3]);
    for (const path of ['pieces', 'batched'] as const) await close(crossAttendCached(x, blocks, w, runs, path), want, path);
    // Sorted rows (as beam search sends them) take the path without permutation.
    const order = Int32Array.from(memoryIndex.keys()).sort((a, b) => memoryIndex[a] - memoryIndex[b] || a - b);
    const sortedRuns = imageRuns(Int32Array.from(order, (r) => memoryIndex[r]), images);
    assert.equal(sortedRuns.order, null);
    const xSorted = tf.gather(x, tf.tensor1d(order, 'int32')) as tf.Tensor2D;
    for (const path of ['pieces', 'batched'] as const) {
      await close(crossAttendCached(xSorted, blocks, w, sortedRuns, path), tf.gather(want, tf.tensor1d(order, 'int32')), `${path}, sorted`);
    }
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
    // Blocks of whole rows (one contiguous copy each), also of a 4-D tensor along axes 0 and 1.
    const rowBlocks = tf.split(m, [7, 0, 50, 3], 0);
    [[0, 7], [7, 7], [7, 57], [57, 60]].forEach(([from, to], p) => assert.deepEqual([...rowBlocks[p].dataSync()], [...values.subarray(from * 6, to * 6)]));
    const sub = (b: number[], sz: number[]) => {
      const want: number[] = [];
      for (let i = b[0]; i < b[0] + sz[0]; i++) for (let j = b[1]; j < b[1] + sz[1]; j++) for (let k = b[2]; k < b[2] + sz[2]; k++) for (let l = b[3]; l < b[3] + sz[3]; l++) want.push(at(i, j, k, l));
      return want;
    };
    for (const [b, sz] of [[[1, 0, 0, 0], [2, 4, 5, 6]], [[0, 1, 0, 0], [3, 2, 5, 6]], [[2, 3, 1, 0], [1, 1, 3, 6]], [[0, 0, 0, 0], [3, 4, 5, 6]]]) {
      assert.deepEqual([...(await tf.slice(x, b, sz).data())], sub(b, sz), `slice at ${b} of ${sz}`);
    }
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
    // Concat (our strided copy) along every axis equals joining on the host; int32 and an empty part too.
    const a = tf.tensor3d(Float32Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
    const b = tf.tensor3d(Float32Array.from({ length: 12 }, (_, i) => 100 + i), [2, 3, 2]);
    const ab = await tf.concat([a, b, tf.zeros([2, 3, 0])], 2).data();
    const want: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) want.push(...[0, 1, 2, 3].map((k) => (i * 3 + j) * 4 + k), ...[0, 1].map((k) => 100 + (i * 3 + j) * 2 + k));
    assert.deepEqual([...ab], want);
    const rowsJoined = await tf.concat([tf.tensor2d([[1, 2]], [1, 2], 'int32'), tf.tensor2d([[3, 4], [5, 6]], [2, 2], 'int32')], 0).data();
    assert.deepEqual([...rowsJoined], [1, 2, 3, 4, 5, 6]);
    const wide = await tf.concat([tf.reshape(a, [2, 12]), tf.reshape(b, [2, 6])], 1).data();
    assert.deepEqual([...wide], [0, 1].flatMap((i) => [...Array.from({ length: 12 }, (_, k) => i * 12 + k), ...Array.from({ length: 6 }, (_, k) => 100 + i * 6 + k)]));
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
