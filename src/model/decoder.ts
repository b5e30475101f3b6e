/**
 * ID decoder: token embedding + positions -> blocks of (causal self-attention, cross-attention
 * to the encoder memory, MLP), pre-LayerNorm -> final LayerNorm -> linear head to 13 logits.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config/sections/model.ts';
import { VOCAB_SIZE } from '../data/ids.ts';
import type { ParamStore } from './params.ts';
import { dense, layerNorm, oneHotFloat, type DropoutSeeds } from './layers.ts';
import { causalMask, crossAttention, crossAttentionGrouped, groupRowsByImage, selfAttention, type AttentionWeights } from './attention.ts';
import { mlp, mlpWeights } from './encoder.ts';
import { positionTable } from './positional.ts';

interface DecoderBlock {
  ln1g: tf.Variable;
  ln1b: tf.Variable;
  self: AttentionWeights;
  ln2g: tf.Variable;
  ln2b: tf.Variable;
  cross: AttentionWeights;
  ln3g: tf.Variable;
  ln3b: tf.Variable;
  w1: tf.Variable;
  b1: tf.Variable;
  w2: tf.Variable;
  b2: tf.Variable;
}

export class Decoder {
  private readonly tokenEmbedding: tf.Variable;
  private readonly positions: tf.Tensor2D;
  private readonly mask: tf.Tensor2D;
  private readonly blocks: DecoderBlock[] = [];
  private readonly lnFg: tf.Variable;
  private readonly lnFb: tf.Variable;
  private readonly headW: tf.Variable;
  private readonly headB: tf.Variable;

  constructor(
    private readonly cfg: ModelConfig,
    readonly seqLen: number,
    p: ParamStore,
  ) {
    const d = cfg.embed_dim;
    this.tokenEmbedding = p.normal('decoder.token_embedding', [VOCAB_SIZE, d], 1);
    this.positions = positionTable(cfg.positional, p, 'decoder.positions', seqLen, d);
    this.mask = causalMask(seqLen);
    for (let i = 0; i < cfg.decoder_layers; i++) {
      const pre = `decoder.${i}`;
      this.blocks.push({
        ln1g: p.constant(`${pre}.ln1.g`, [d], 1),
        ln1b: p.constant(`${pre}.ln1.b`, [d], 0),
        self: {
          wqkv: p.glorot(`${pre}.self.wqkv`, d, 3 * d),
          bqkv: p.constant(`${pre}.self.bqkv`, [3 * d], 0),
          wo: p.glorot(`${pre}.self.wo`, d, d),
          bo: p.constant(`${pre}.self.bo`, [d], 0),
        },
        ln2g: p.constant(`${pre}.ln2.g`, [d], 1),
        ln2b: p.constant(`${pre}.ln2.b`, [d], 0),
        cross: {
          wq: p.glorot(`${pre}.cross.wq`, d, d),
          bq: p.constant(`${pre}.cross.bq`, [d], 0),
          wkv: p.glorot(`${pre}.cross.wkv`, d, 2 * d),
          bkv: p.constant(`${pre}.cross.bkv`, [2 * d], 0),
          wo: p.glorot(`${pre}.cross.wo`, d, d),
          bo: p.constant(`${pre}.cross.bo`, [d], 0),
        },
        ln3g: p.constant(`${pre}.ln3.g`, [d], 1),
        ln3b: p.constant(`${pre}.ln3.b`, [d], 0),
        ...mlpWeights(p, pre, d, cfg.ffn_dim),
      });
    }
    this.lnFg = p.constant('decoder.ln_final.g', [d], 1);
    this.lnFb = p.constant('decoder.ln_final.b', [d], 0);
    this.headW = p.glorot('decoder.head.w', d, VOCAB_SIZE);
    this.headB = p.constant('decoder.head.b', [VOCAB_SIZE], 0);
  }

  /**
   * memory [B, P, D]; tokens [R, T] int32; memoryIndex [R] (target row -> memory row), or null
   * when R == B and row i decodes memory i. Returns logits [R, T, 13].
   */
  forward(memory: tf.Tensor3D, tokens: tf.Tensor2D, memoryIndex: Int32Array | null, drop: DropoutSeeds): tf.Tensor3D {
    const [images, memLen, d] = memory.shape;
    const [rows, len] = tokens.shape;
    if (len > this.seqLen) throw new Error(`decoder input has ${len} tokens, the model was built for at most ${this.seqLen}`);
    if (!memoryIndex && rows !== images) throw new Error(`decode: ${rows} token rows but ${images} memory rows and no memoryIndex`);
    const heads = this.cfg.num_heads;
    const mask = len === this.seqLen ? this.mask : tf.slice(this.mask, [0, 0], [len, len]);
    const positions = len === this.seqLen ? this.positions : tf.slice(this.positions, [0, 0], [len, d]);
    // Embedding as a one-hot matMul: its gradient is a plain matMul (gather's needs a kernel wasm lacks).
    const oneHot = oneHotFloat(tf.reshape(tokens, [rows * len]) as tf.Tensor1D, VOCAB_SIZE);
    const embedded = tf.reshape(dense(oneHot, this.tokenEmbedding), [rows, len, d]);
    let x = tf.reshape(tf.add(embedded, positions), [rows * len, d]) as tf.Tensor2D;
    x = drop.apply(x);
    const memoryRows = tf.reshape(memory, [images * memLen, d]) as tf.Tensor2D;
    // Several target rows per image (beam search, phase 2): attend in per-image groups so each
    // image's K/V is used in place instead of being copied once per row.
    const groups = memoryIndex ? groupRowsByImage(memoryIndex, images) : null;
    for (const blk of this.blocks) {
      x = tf.add(x, drop.apply(selfAttention(layerNorm(x, blk.ln1g, blk.ln1b), blk.self, rows, len, heads, mask)));
      // K/V of the memory are projected once per image.
      const kv = tf.reshape(dense(memoryRows, blk.cross.wkv!, blk.cross.bkv!), [images, memLen, 2 * d]) as tf.Tensor3D;
      const normed = layerNorm(x, blk.ln2g, blk.ln2b);
      const attended = groups
        ? crossAttentionGrouped(normed, kv, blk.cross, groups, len, heads)
        : crossAttention(normed, kv, blk.cross, rows, len, heads);
      x = tf.add(x, drop.apply(attended));
      x = tf.add(x, drop.apply(mlp(layerNorm(x, blk.ln3g, blk.ln3b), blk, drop)));
    }
    const logits = dense(layerNorm(x, this.lnFg, this.lnFb), this.headW, this.headB);
    return tf.reshape(logits, [rows, len, VOCAB_SIZE]);
  }

  dispose(): void {
    this.mask.dispose();
    if (!(this.positions instanceof tf.Variable)) this.positions.dispose();
  }
}
