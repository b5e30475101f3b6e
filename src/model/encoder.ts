/** ViT encoder: patches -> linear embedding + positions -> pre-LayerNorm transformer blocks. */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config/sections/model.ts';
import type { ParamStore } from './params.ts';
import { dense, gelu, layerNorm, type DropoutSeeds } from './layers.ts';
import { selfAttention, type AttentionWeights } from './attention.ts';
import { positionTable } from './positional.ts';

export interface BlockWeights {
  ln1g: tf.Variable;
  ln1b: tf.Variable;
  attn: AttentionWeights;
  ln2g: tf.Variable;
  ln2b: tf.Variable;
  w1: tf.Variable;
  b1: tf.Variable;
  w2: tf.Variable;
  b2: tf.Variable;
}

export function mlpWeights(p: ParamStore, prefix: string, d: number, ffn: number) {
  return {
    w1: p.glorot(`${prefix}.mlp.w1`, d, ffn),
    b1: p.constant(`${prefix}.mlp.b1`, [ffn], 0),
    w2: p.glorot(`${prefix}.mlp.w2`, ffn, d),
    b2: p.constant(`${prefix}.mlp.b2`, [d], 0),
  };
}

export function mlp(x: tf.Tensor2D, w: { w1: tf.Variable; b1: tf.Variable; w2: tf.Variable; b2: tf.Variable }, drop: DropoutSeeds): tf.Tensor2D {
  return dense(drop.apply(gelu(dense(x, w.w1, w.b1))), w.w2, w.b2);
}

export class Encoder {
  readonly patchesPerSide: number;
  readonly patchCount: number;
  private readonly patchW: tf.Variable;
  private readonly patchB: tf.Variable;
  private readonly positions: tf.Tensor2D;
  private readonly blocks: BlockWeights[] = [];
  private readonly lnFg: tf.Variable;
  private readonly lnFb: tf.Variable;

  constructor(
    private readonly cfg: ModelConfig,
    imageSize: number,
    p: ParamStore,
  ) {
    if (imageSize % cfg.patch_size !== 0) {
      throw new Error(`image size ${imageSize} is not a multiple of model.patch_size ${cfg.patch_size}`);
    }
    const d = cfg.embed_dim;
    this.patchesPerSide = imageSize / cfg.patch_size;
    this.patchCount = this.patchesPerSide ** 2;
    const patchValues = cfg.patch_size * cfg.patch_size * 3;
    this.patchW = p.glorot('encoder.patch.w', patchValues, d);
    this.patchB = p.constant('encoder.patch.b', [d], 0);
    this.positions = positionTable(cfg.positional, p, 'encoder.positions', this.patchCount, d);
    for (let i = 0; i < cfg.encoder_layers; i++) {
      const pre = `encoder.${i}`;
      this.blocks.push({
        ln1g: p.constant(`${pre}.ln1.g`, [d], 1),
        ln1b: p.constant(`${pre}.ln1.b`, [d], 0),
        attn: {
          wqkv: p.glorot(`${pre}.attn.wqkv`, d, 3 * d),
          bqkv: p.constant(`${pre}.attn.bqkv`, [3 * d], 0),
          wo: p.glorot(`${pre}.attn.wo`, d, d),
          bo: p.constant(`${pre}.attn.bo`, [d], 0),
        },
        ln2g: p.constant(`${pre}.ln2.g`, [d], 1),
        ln2b: p.constant(`${pre}.ln2.b`, [d], 0),
        ...mlpWeights(p, pre, d, cfg.ffn_dim),
      });
    }
    this.lnFg = p.constant('encoder.ln_final.g', [d], 1);
    this.lnFb = p.constant('encoder.ln_final.b', [d], 0);
  }

  /** uint8/float 0..255 [B,H,W,3] -> rows of flattened patches [B*P, p*p*3] in -1..1. */
  patchify(images: tf.Tensor4D): tf.Tensor2D {
    const [b] = images.shape;
    const ps = this.cfg.patch_size;
    const n = this.patchesPerSide;
    // Normalising inside the model keeps callers (train, eval, search) from disagreeing on it.
    const x = tf.sub(tf.div(tf.cast(images, 'float32'), 127.5), 1);
    const grid = tf.reshape(x, [b, n, ps, n, ps, 3]);
    return tf.reshape(tf.transpose(grid, [0, 1, 3, 2, 4, 5]), [b * n * n, ps * ps * 3]);
  }

  /** -> memory rows [B*P, D] (the caller reshapes). */
  forward(images: tf.Tensor4D, drop: DropoutSeeds): tf.Tensor2D {
    const b = images.shape[0];
    const d = this.cfg.embed_dim;
    const heads = this.cfg.num_heads;
    const p = this.patchCount;
    const embedded = dense(this.patchify(images), this.patchW, this.patchB);
    let x = tf.reshape(tf.add(tf.reshape(embedded, [b, p, d]), this.positions), [b * p, d]) as tf.Tensor2D;
    x = drop.apply(x);
    for (const blk of this.blocks) {
      const a = selfAttention(layerNorm(x, blk.ln1g, blk.ln1b), blk.attn, b, p, heads, null);
      x = tf.add(x, drop.apply(a));
      x = tf.add(x, drop.apply(mlp(layerNorm(x, blk.ln2g, blk.ln2b), blk, drop)));
    }
    return layerNorm(x, this.lnFg, this.lnFb);
  }

  dispose(): void {
    // Sinusoidal tables are plain tensors (learned ones are variables, disposed by the model).
    if (!(this.positions instanceof tf.Variable)) this.positions.dispose();
  }
}
