// Our SIMD kernels that replace tfjs-backend-wasm's: the batched matMul (src/model/kernels/
// batch-matmul.ts: every transpose flag, every remainder of the 4 x 8 register blocks, broadcast
// batches, and the attention built on it), the sum over leading axes (sum-rows.ts) and the fused
// Adam update (adam-update.ts) and LayerNorm (layer-norm.ts), against
// results computed on the host and by tfjs's cpu backend; and the committed binaries.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../src/runtime/backend.ts';
import { installWasmKernels } from '../src/model/kernels/wasm-kernels.ts';
import { attend } from '../src/model/kernels/attention.ts';
import { assembleWat } from '../src/model/kernels/wasm/assemble.ts';
import { ADAM_UPDATE } from '../src/model/kernels/adam-update.ts';
import { chunkRows } from '../src/model/kernels/batch-matmul.ts';
import { Adam } from '../src/train/engine/adam.ts';
import { layerNorm, plainLayerNorm } from '../src/model/kernels/layer-norm.ts';
import { gelu, plainGelu } from '../src/model/kernels/gelu.ts';

before(async () => {
  await initBackend('wasm');
  installWasmKernels();
});

function randomValues(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 1073741824 - 1;
  });
}

/** C[g] = op(A[g]) op(B[g]) on the host, in float64; a batch of 1 broadcasts. */
function hostProduct(a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], ta: boolean, tb: boolean): number[] {
  const [ga, ar, ac] = aShape;
  const [gb, br, bc] = bShape;
  const [m, k] = ta ? [ac, ar] : [ar, ac];
  const n = tb ? br : bc;
  const out: number[] = [];
  for (let g = 0; g < Math.max(ga, gb); g++) {
    const ao = ga === 1 ? 0 : g * ar * ac;
    const bo = gb === 1 ? 0 : g * br * bc;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let x = 0; x < k; x++) sum += a[ao + (ta ? x * ac + i : i * ac + x)] * b[bo + (tb ? j * bc + x : x * bc + j)];
        out.push(sum);
      }
    }
  }
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('SIMD kernels on wasm', () => {
  it('are the committed binaries of their WAT sources', async () => {
    const dir = new URL('../src/model/kernels/wasm/', import.meta.url);
    const sources = readdirSync(dir).filter((f) => f.endsWith('.wat'));
    assert.ok(sources.length >= 2, 'sources.length >= 2');
    for (const name of sources) {
      const built = await assembleWat(name, readFileSync(new URL(name, dir), 'utf8'));
      const committed = new Uint8Array(readFileSync(new URL(name.replace(/\.wat$/, '.wasm'), dir)));
      assert.deepEqual(committed, built, `${name}: run \`npm run build:kernels\` after editing it`);
    }
  });

  it('equals the host product for every transpose flag, block remainder and broadcast batch', async () => {
    assert.equal(tf.getBackend(), 'wasm');
    // [groups of A, groups of B, m, k, n]: m % 4 and n % 8 take every remainder; k = 1 too.
    const shapes: number[][] = [
      [3, 3, 4, 5, 8], [2, 2, 7, 3, 13], [5, 5, 1, 1, 1], [2, 2, 9, 17, 23], [4, 4, 6, 32, 100],
      [3, 1, 5, 6, 7], [1, 3, 10, 4, 11], [2, 2, 12, 2, 16], [2, 2, 3, 9, 5], [2, 2, 2, 5, 6],
      // k longer than a chunk of the inner dimension (chunkRows), with a partial last chunk,
      // also with B broadcast (re-packed per group and chunk).
      [2, 2, 5, 3 * chunkRows(104) + 7, 100], [3, 1, 6, chunkRows(104) + 1, 97],
    ];
    let seed = 1;
    for (const [ga, gb, m, k, n] of shapes) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const aShape = [ga, ...(ta ? [k, m] : [m, k])];
          const bShape = [gb, ...(tb ? [n, k] : [k, n])];
          const a = randomValues(aShape.reduce((x, y) => x * y), seed++);
          const b = randomValues(bShape.reduce((x, y) => x * y), seed++);
          const out = tf.matMul(tf.tensor3d(a, aShape as [number, number, number]), tf.tensor3d(b, bShape as [number, number, number]), ta, tb);
          assert.deepEqual(out.shape, [Math.max(ga, gb), m, n]);
          assertClose(await out.data(), hostProduct(a, aShape, b, bShape, ta, tb), `A [${aShape}] B [${bShape}] ta=${ta} tb=${tb}`);
        }
      }
    }
  });

  it('keeps leading batch dimensions of rank-4 operands and reports mismatched inner dimensions', async () => {
    const a = randomValues(2 * 3 * 5 * 4, 7);
    const b = randomValues(2 * 3 * 4 * 6, 8);
    const out = tf.matMul(tf.tensor4d(a, [2, 3, 5, 4]), tf.tensor4d(b, [2, 3, 4, 6]));
    assert.deepEqual(out.shape, [2, 3, 5, 6]);
    assertClose(await out.data(), hostProduct(a, [6, 5, 4], b, [6, 4, 6], false, false), 'rank 4');
    assert.throws(() => tf.matMul(tf.ones([2, 3, 4]), tf.ones([2, 5, 6])), /inner/);
  });

  it('gives attention the value and gradients of tfjs\'s cpu backend', async () => {
    const [g, t, s, dh] = [8, 20, 13, 8];
    const q = randomValues(g * t * dh, 11), k = randomValues(g * s * dh, 12), v = randomValues(g * s * dh, 13), w = randomValues(g * t * dh, 14);
    const mask = Array.from({ length: t * s }, (_, i) => (i % s > Math.floor(i / s) ? -1e9 : 0));
    const run = () => {
      const inputs = [tf.tensor3d(q, [g, t, dh]), tf.tensor3d(k, [g, s, dh]), tf.tensor3d(v, [g, s, dh])];
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => attend(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, tf.tensor2d(mask, [t, s]));
      const value = f(inputs[0], inputs[1], inputs[2]).dataSync().slice();
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, b, c), tf.tensor3d(w, [g, t, dh]))))(inputs);
      return [value, ...grads.map((x) => x.dataSync().slice())];
    };
    const onWasm = run();
    await tf.setBackend('cpu');
    try {
      const onCpu = run();
      ['value', 'dQ', 'dK', 'dV'].forEach((what, i) => assertClose(onWasm[i], onCpu[i], what));
    } finally {
      await tf.setBackend('wasm');
    }
  });

  it('sum over leading axes equals the host sum for every column remainder, keepDims too', async () => {
    for (const shape of [[37, 16], [5, 35], [3, 4, 7], [1, 3], [64, 1], [2, 2, 2, 2]]) {
      const x = randomValues(shape.reduce((a, b) => a * b), shape.length * 31 + shape[0]);
      for (let lead = 1; lead < shape.length; lead++) {
        const axes = Array.from({ length: lead }, (_, i) => i);
        const rows = shape.slice(0, lead).reduce((a, b) => a * b);
        const cols = x.length / rows;
        const expected = Array.from({ length: cols }, (_, c) => {
          let sum = 0;
          for (let r = 0; r < rows; r++) sum += x[r * cols + c];
          return sum;
        });
        const t = tf.tensor(x, shape);
        const out = tf.sum(t, axes);
        assert.deepEqual(out.shape, shape.slice(lead));
        assertClose(await out.data(), expected, `sum of [${shape}] over ${axes}`);
        assert.deepEqual(tf.sum(t, axes, true).shape, [...axes.map(() => 1), ...shape.slice(lead)]);
      }
    }
    // Reductions that stay with tfjs's kernel: innermost axis, all axes.
    const m = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual([...(await tf.sum(m, 1).data())], [6, 15]);
    assert.deepEqual([...(await tf.sum(m).data())], [21]);
  });

  it('the fused Adam update gives the bits of the tfjs formulation (AdamW decay, clipping, odd sizes)', async () => {
    assert.ok(tf.getKernel(ADAM_UPDATE, 'wasm'), 'the fused kernel is registered on wasm');
    const shapes: Record<string, number[]> = { w: [5, 7], b: [7], g: [3] };
    // Three steps of Adam over fixed gradients; returns every parameter and moment after each.
    const run = () => {
      const vars = new Map(Object.entries(shapes).map(([name, shape], i) =>
        [name, tf.variable(tf.tensor(randomValues(shape.reduce((a, b) => a * b), 40 + i), shape))]));
      const adam = new Adam(vars, 0.01, { weightDecay: 0.05, clipNorm: 2 });
      const out: number[][] = [];
      for (let step = 0; step < 3; step++) {
        const grads = new Map(Object.entries(shapes).map(([name, shape], i) =>
          [name, tf.tensor(randomValues(shape.reduce((a, b) => a * b), 100 * step + i), shape)]));
        adam.apply(grads, 0.01 * (step + 1));
        for (const v of vars.values()) out.push([...v.dataSync()]);
      }
      return { out, state: adam };
    };
    const onWasm = run();
    const wasmState = (await onWasm.state.getState()).map((s) => [...s.data]);
    await tf.setBackend('cpu');
    try {
      const onCpu = run();
      assert.deepEqual(onWasm.out, onCpu.out, 'parameters after each step');
      assert.deepEqual(wasmState, (await onCpu.state.getState()).map((s) => [...s.data]), 'moments');
    } finally {
      await tf.setBackend('wasm');
    }
  });

  it('LayerNorm: value and gradients (x, gain, bias) of the tfjs formula on the cpu backend', async () => {
    for (const [rows, d] of [[7, 12], [33, 128]]) {
      const x = randomValues(rows * d, rows), g = randomValues(d, 3), b = randomValues(d, 4), w = randomValues(rows * d, 5);
      const run = (f: typeof layerNorm) => {
        const inputs = [tf.tensor2d(x, [rows, d]), tf.tensor1d(g), tf.tensor1d(b)];
        const loss = (a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor2D, gg as tf.Tensor1D, bb as tf.Tensor1D), tf.tensor2d(w, [rows, d])));
        const value = f(inputs[0] as tf.Tensor2D, inputs[1] as tf.Tensor1D, inputs[2] as tf.Tensor1D).dataSync().slice();
        return [value, ...tf.grads(loss)(inputs).map((t) => t.dataSync().slice())];
      };
      const onWasm = run(layerNorm);
      await tf.setBackend('cpu');
      try {
        const onCpu = run(plainLayerNorm);
        ['y', 'dx', 'dg', 'db'].forEach((what, i) => assertClose(onWasm[i], onCpu[i], `[${rows}, ${d}] ${what}`));
      } finally {
        await tf.setBackend('wasm');
      }
    }
  });

  it('GELU: value and derivative of the tfjs formulation on the cpu backend', async () => {
    const x = randomValues(40 * 24, 9).map((v) => v * 4);
    const w = randomValues(40 * 24, 10);
    const run = (f: typeof gelu) => {
      const input = tf.tensor2d(x, [40, 24]);
      const value = f(input).dataSync().slice();
      const grad = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor2D), tf.tensor2d(w, [40, 24]))))(input).dataSync().slice();
      return [value, grad];
    };
    const onWasm = run(gelu);
    await tf.setBackend('cpu');
    try {
      const onCpu = run(plainGelu);
      assertClose(onWasm[0], onCpu[0], 'gelu');
      assertClose(onWasm[1], onCpu[1], 'gelu\'');
    } finally {
      await tf.setBackend('wasm');
    }
  });
});
