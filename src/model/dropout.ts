/**
 * Dropout whose masks come from a per-forward seed sequence, so a training step is reproducible
 * from its seed. Identity when not training or rate is 0.
 */
import * as tf from '@tensorflow/tfjs-core';

export class DropoutSeeds {
  private counter = 0;
  constructor(
    readonly rate: number,
    readonly training: boolean,
    private readonly seed: number,
  ) {}

  apply<T extends tf.Tensor>(x: T): T {
    if (!this.training || this.rate <= 0) return x;
    this.counter++;
    // Distinct, reproducible seed per dropout site within the step: the sites are numbered in
    // the order the forward pass reaches them.
    const siteSeed = (Math.imul(this.seed ^ 0x9e3779b9, 31) + Math.imul(this.counter, 0x85ebca6b)) >>> 0;
    return tf.dropout(x, this.rate, undefined, siteSeed) as T;
  }
}
