/**
 * Adam (Kingma & Ba) with bias correction, written out so its moments are plain named arrays
 * in EngineState: resuming from a checkpoint continues bit-for-bit. Options (off by default, the
 * reference): AdamW's decoupled weight decay (Loshchilov & Hutter 2019) on matrices only (biases,
 * LayerNorm gains and 1-d parameters are not decayed, as in DeiT/timm), and clipping of the
 * gradients' global L2 norm before the update.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedArray } from '../../types.ts';
import { adamUpdate } from '../../model/kernels/adam-update.ts';

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-8;

export interface AdamOptions {
  /** Decoupled weight decay per unit learning rate (AdamW); 0 = Adam. */
  weightDecay?: number;
  /** Clip the global gradient norm to this; 0 = no clipping. */
  clipNorm?: number;
}

export class Adam {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  step = 0;

  constructor(
    private readonly variables: ReadonlyMap<string, tf.Variable>,
    private readonly learningRate: number,
    private readonly options: AdamOptions = {},
  ) {
    for (const [name, variable] of variables) {
      this.m.set(name, tf.variable(tf.zerosLike(variable), false));
      this.v.set(name, tf.variable(tf.zerosLike(variable), false));
    }
  }

  /** One update from gradients by variable name (missing names are left unchanged). */
  apply(grads: ReadonlyMap<string, tf.Tensor>, learningRate = this.learningRate): void {
    this.step++;
    const t = this.step;
    const stepSize = (learningRate * Math.sqrt(1 - BETA2 ** t)) / (1 - BETA1 ** t);
    const weightDecay = this.options.weightDecay ?? 0;
    const clipNorm = this.options.clipNorm ?? 0;
    tf.tidy(() => {
      let scale: tf.Scalar | null = null;
      if (clipNorm > 0) {
        const squares = [...this.variables.keys()].flatMap((name) => {
          const g = grads.get(name);
          return g ? [tf.sum(tf.square(g))] : [];
        });
        const norm = tf.sqrt(tf.addN(squares));
        scale = tf.minimum(tf.scalar(1), tf.div(clipNorm, tf.add(norm, 1e-6))) as tf.Scalar;
      }
      // The fused kernel (one pass per tensor, wasm) computes exactly the formulation below.
      const gradScale = scale ? scale.dataSync()[0] : 1;
      for (const [name, variable] of this.variables) {
        const raw = grads.get(name);
        if (!raw) continue;
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const decay = weightDecay > 0 && variable.rank >= 2 ? 1 - learningRate * weightDecay : 1;
        const fused = adamUpdate(variable, m, v, raw, { beta1: BETA1, beta2: BETA2, epsilon: EPSILON, stepSize, decay, gradScale });
        if (fused) {
          variable.assign(fused[0]);
          m.assign(fused[1]);
          v.assign(fused[2]);
          continue;
        }
        const g = scale ? tf.mul(raw, scale) : raw;
        const mNew = tf.add(tf.mul(m, BETA1), tf.mul(g, 1 - BETA1));
        const vNew = tf.add(tf.mul(v, BETA2), tf.mul(tf.square(g), 1 - BETA2));
        m.assign(mNew);
        v.assign(vNew);
        const decayed = weightDecay > 0 && variable.rank >= 2 ? tf.mul(variable, 1 - learningRate * weightDecay) : variable;
        variable.assign(tf.sub(decayed, tf.mul(tf.div(mNew, tf.add(tf.sqrt(vNew), EPSILON)), stepSize)));
      }
    });
  }

  async getState(): Promise<NamedArray[]> {
    const out: NamedArray[] = [];
    for (const [suffix, moments] of this.moments()) {
      for (const [name, variable] of moments) {
        out.push({ name: `${name}${suffix}`, shape: [...variable.shape], dtype: 'float32', data: (await variable.data()) as Float32Array });
      }
    }
    return out;
  }

  setState(state: readonly NamedArray[], step: number): void {
    const byName = new Map(state.map((s) => [s.name, s]));
    for (const [suffix, moments] of this.moments()) {
      for (const [name, variable] of moments) {
        const s = byName.get(`${name}${suffix}`);
        if (!s) throw new Error(`optimizer state has no "${name}${suffix}"`);
        if (s.data.length !== variable.size) throw new Error(`optimizer state "${name}${suffix}" has ${s.data.length} values, expected ${variable.size}`);
        variable.assign(tf.tensor(s.data, variable.shape, 'float32'));
      }
    }
    this.step = step;
  }

  /** Checkpoint names: `<param>.adam_m` and `<param>.adam_v`. */
  private moments(): [string, Map<string, tf.Variable>][] {
    return [['.adam_m', this.m], ['.adam_v', this.v]];
  }

  dispose(): void {
    for (const moments of [this.m, this.v]) for (const variable of moments.values()) variable.dispose();
  }
}
