/**
 * Named trainable variables with a seeded, backend-independent initialisation: values are drawn
 * in JavaScript from `Rng` in creation order, so the same seed gives bit-identical weights on
 * wasm, cpu or native TensorFlow, and in every worker thread.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../runtime/rng.ts';

// tfjs variable names are global to the engine; a per-store suffix lets two models (a training
// replica and an inference copy) coexist. The map keys stay the stable checkpoint names.
let storeCounter = 0;

export class ParamStore {
  private readonly instance = ++storeCounter;
  readonly variables = new Map<string, tf.Variable>();
  private readonly rng: Rng;
  /** Initial values supplied by name (a checkpoint); when present, the seeded draw is skipped. */
  private readonly given: ReadonlyMap<string, Float32Array> | null;

  constructor(seed: number, given: ReadonlyMap<string, Float32Array> | null = null) {
    this.rng = new Rng(seed);
    this.given = given;
  }

  private add(name: string, shape: number[], fill: (n: number) => Float32Array): tf.Variable {
    if (this.variables.has(name)) throw new Error(`duplicate parameter name ${name}`);
    const size = shape.reduce((a, b) => a * b, 1);
    // Draw even when a value is given, so later parameters see the same random stream.
    let values = fill(size);
    const supplied = this.given?.get(name);
    if (this.given) {
      if (!supplied) throw new Error(`weights have no parameter "${name}"`);
      if (supplied.length !== size) {
        throw new Error(`parameter "${name}" has ${supplied.length} values, the model needs ${size} (shape ${shape.join('x')})`);
      }
      values = supplied;
    }
    const v = tf.variable(tf.tensor(values, shape, 'float32'), true, `${name}#${this.instance}`);
    this.variables.set(name, v);
    return v;
  }

  /** Glorot/Xavier uniform: keeps activation variance roughly constant through dense layers. */
  glorot(name: string, fanIn: number, fanOut: number): tf.Variable {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    return this.add(name, [fanIn, fanOut], (n) => {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = (this.rng.next() * 2 - 1) * limit;
      return a;
    });
  }

  /** Normal(0, std) via Box-Muller (embeddings, learned positions). */
  normal(name: string, shape: number[], std: number): tf.Variable {
    return this.add(name, shape, (n) => {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const u = Math.max(this.rng.next(), 1e-12);
        a[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.rng.next()) * std;
      }
      return a;
    });
  }

  constant(name: string, shape: number[], value: number): tf.Variable {
    return this.add(name, shape, (n) => new Float32Array(n).fill(value));
  }
}
