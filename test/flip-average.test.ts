/**
 * decode.flip_average (test-time augmentation): the beam search scores every prefix with the
 * average of the query's and its mirror image's next-token distributions.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/runtime/backend.ts';
import { createDsiModel } from '../src/model/dsi-model.ts';
import { IdTrie } from '../src/decode/trie.ts';
import { flipAveragedScorer, searchWithModel, type ModelScorer } from '../src/decode/model-search.ts';
import type { ScoreRequest } from '../src/decode/beam.ts';
import { VOCAB_SIZE } from '../src/data/ids.ts';
import { randomPixels, tinyModel } from './model-fixtures.ts';

before(async () => {
  await initBackend('wasm');
});

describe('flip-averaged scoring', () => {
  it('returns log((p + p_mirrored) / 2) for each prefix, asking the inner scorer about query q and q + Q', async () => {
    const asked: ScoreRequest[][] = [];
    // Inner distributions: query 0 puts all mass on token 1, its mirror (query 2) half on 1 and half on 2.
    const dist = (query: number) => {
      const p = new Float32Array(VOCAB_SIZE).fill(0);
      if (query === 2) [p[1], p[2]] = [0.5, 0.5];
      else p[1] = 1;
      return p.map(Math.log);
    };
    const inner = Object.assign(
      async (requests: readonly ScoreRequest[]) => {
        asked.push([...requests]);
        const out = new Float32Array(requests.length * VOCAB_SIZE);
        requests.forEach((r, i) => out.set(dist(r.query), i * VOCAB_SIZE));
        return out;
      },
      { dispose() {} },
    ) as ModelScorer;
    const scorer = flipAveragedScorer(inner, 2);
    const out = await scorer([{ query: 0, prefix: [3] }]);
    assert.deepEqual(asked[0], [{ query: 0, prefix: [3] }, { query: 2, prefix: [3] }]);
    assert.ok(Math.abs(Math.exp(out[1]) - 0.75) < 1e-6 && Math.abs(Math.exp(out[2]) - 0.25) < 1e-6, 'Math.abs(Math.exp(out[1]) - 0.75) < 1e-6 && Math.abs(Math.exp(out[2]) - 0.25) < 1e-6');
    assert.equal(out[0], -Infinity, 'no mass in either stays no mass');
    const total = Array.from(out).reduce((a, v) => a + Math.exp(v), 0);
    assert.ok(Math.abs(total - 1) < 1e-6, 'still a distribution');
  });

  it('changes nothing for a mirror-symmetric image, and something for others', async () => {
    const model = createDsiModel(tinyModel({ patch_size: 4 }), { imageSize: 16, idLength: 2 }, 4);
    const trie = new IdTrie(Array.from({ length: 30 }, (_, i) => i));
    const opts = { beamWidth: 10, topK: 10, constrained: true, batchSize: 3 };
    // Image 0 made symmetric (column x = column 15 - x); images 1-3 random.
    const pixels = Uint8Array.from(randomPixels(4, 16, 11));
    for (let y = 0; y < 16; y++) for (let x = 8; x < 16; x++) for (let c = 0; c < 3; c++) pixels[(y * 16 + x) * 3 + c] = pixels[(y * 16 + (15 - x)) * 3 + c];
    const images = { pixels, count: 4, imageSize: 16 };
    const plain = await searchWithModel(model, trie, images, opts);
    const flipped = await searchWithModel(model, trie, images, { ...opts, flipAverage: true });
    assert.deepEqual(flipped.results[0].ids, plain.results[0].ids);
    flipped.results[0].scores.forEach((s, i) => assert.ok(Math.abs(s - plain.results[0].scores[i]) < 1e-4, 'Math.abs(s - plain.results[0].scores[i]) < 1e-4'));
    const moved = [1, 2, 3].some((q) => flipped.results[q].scores.some((s, i) => Math.abs(s - plain.results[q].scores[i]) > 1e-4));
    assert.ok(moved, 'asymmetric images are scored differently once mirrored');
    for (const r of flipped.results) assert.equal(new Set(r.ids).size, 10);
    const tensors = tf.memory().numTensors;
    await searchWithModel(model, trie, images, { ...opts, flipAverage: true });
    assert.equal(tf.memory().numTensors, tensors, 'no tensor left behind');
    model.dispose();
  });
});
