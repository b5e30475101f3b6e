/**
 * Incremental decoding (beam search): the decoder writes one position per row per step and keeps
 * what later positions need, instead of re-running the whole prefix. Same mathematics as
 * transformer.ts's decoder() at that position (the causal mask lets position t see exactly the
 * cached positions 0..t-1 and itself); test/model.test.ts compares the logits.
 *
 * Per batch of images, once: each block's memory keys/values (cross-attention.ts). Per step:
 * each row's new position through every block, its self-attention keys/values appended to the
 * cache of the row it continues (self-attention.ts). Rows are exactly the live beams: the caller
 * passes no padded or finished ones.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DropoutSeeds } from '../dropout.ts';
import { checkShape } from '../shapes.ts';
import { embedTokens, layerNorm, linear, mlp, type DecoderWeights, type Dims } from '../transformer.ts';
import type { IncrementalDecoder } from '../types.ts';
import { crossAttendCached, imageRuns, memoryBlocks, type MemoryBlocks } from './cross-attention.ts';
import { selfAttendCached, type SelfCache } from './self-attention.ts';

interface DecoderCache {
  /** Per block, the memory's keys/values (fixed for the batch). */
  memory: MemoryBlocks[];
  /** Per block, the self-attention keys/values of positions 0..length-1 of every row. */
  self: SelfCache[];
  images: number;
  length: number;
}

const noDropout = new DropoutSeeds(0, false, 0);

/** tf.tidy keeping every tensor of a nested result (tidy walks objects and arrays; only its types are narrow). */
const tidyKeep = <T>(f: () => T): T => tf.tidy(f as () => tf.TensorContainer) as T;

/**
 * One position for every row. tokens [R] (the token at position t = cache.length); parents [R]:
 * row r continues row parents[r] of the previous step (null at t = 0); memoryIndex [R]: the
 * image row r reads. -> logits [R, 13] and the self-attention cache including position t.
 */
function decoderStep(tokens: Int32Array, parents: Int32Array | null, memoryIndex: Int32Array, cache: DecoderCache, w: DecoderWeights, dims: Dims) {
  const rows = tokens.length;
  const t = cache.length;
  const { d, heads } = dims;
  if (t >= w.positions.shape[0]) throw new Error(`decoder step ${t}: the model was built for ${w.positions.shape[0]} positions`);
  if (t > 0 && !parents) throw new Error('decoder step after the first needs the parent row of each row');
  if (memoryIndex.length !== rows || (parents && parents.length !== rows)) throw new Error(`decoder step: ${rows} tokens but ${memoryIndex.length} memory indices`);
  const runs = imageRuns(memoryIndex, cache.images);
  let x = embedTokens(tf.tensor2d(tokens, [rows, 1], 'int32'), w, tf.slice(w.positions, [t, 0], [1, d]));
  const self: SelfCache[] = [];
  w.blocks.forEach((blk, i) => {
    const [q, k, v] = tf.split(linear(layerNorm(x, blk.ln1), blk.self.qkv), [d, d, d], 1) as tf.Tensor2D[];
    const attended = selfAttendCached(q, k, v, t > 0 ? { ...cache.self[i], length: t } : null, parents, heads);
    self.push(attended.cache);
    x = tf.add(x, linear(attended.out, blk.self.out));
    x = tf.add(x, crossAttendCached(layerNorm(x, blk.ln2), cache.memory[i], blk.cross, runs));
    x = tf.add(x, mlp(layerNorm(x, blk.ln3), blk.mlp, noDropout));
    checkShape(x, [rows, d], 'decoder step block output');
  });
  return { logits: linear(layerNorm(x, w.lnFinal), w.head), self };
}

/** An IncrementalDecoder over memory [B, S, D] (the caller keeps owning the memory). */
export function incrementalDecoder(memory: tf.Tensor3D, w: DecoderWeights, dims: Dims): IncrementalDecoder {
  const [images, memLen, d] = memory.shape;
  const memoryCache = tidyKeep(() => {
    const rows = tf.reshape(memory, [images * memLen, d]) as tf.Tensor2D;
    return w.blocks.map((blk) => memoryBlocks(rows, blk.cross, images, dims.heads));
  });
  let cache: DecoderCache = { memory: memoryCache, self: [], images, length: 0 };
  const selfTensors = (self: SelfCache[]) => self.flatMap((c) => [c.k, c.v]);
  return {
    get length() {
      return cache.length;
    },
    step(tokens, parents, memoryIndex) {
      const out = tidyKeep(() => decoderStep(tokens, cache.length > 0 ? parents : null, memoryIndex, cache, w, dims));
      tf.dispose(selfTensors(cache.self));
      cache = { ...cache, self: out.self, length: cache.length + 1 };
      return out.logits;
    },
    dispose() {
      tf.dispose([...selfTensors(cache.self), ...memoryCache.flatMap((m) => [...m.keys, ...m.values, m.keysStacked, m.valuesStacked])]);
      cache = { ...cache, self: [] };
    },
  };
}
