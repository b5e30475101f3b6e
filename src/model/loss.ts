/**
 * Teacher-forced cross-entropy over non-PAD target positions (digits and END), with token and
 * exact-ID accuracy. Returns SUMS (not means) so shards of a batch can be added exactly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PAD, VOCAB_SIZE } from '../data/ids.ts';
import { oneHotFloat } from './kernels/one-hot.ts';

export interface LossTensors {
  /** Scalar: sum of per-token cross-entropy over non-PAD positions (differentiable). */
  lossSum: tf.Scalar;
  /** [tokens, tokenCorrect, ids, idCorrect] as float32 (no gradient). */
  counts: tf.Tensor1D;
}

/**
 * logits [R, T, 13], targets [R, T] int32. `labelSmoothing` e trains towards (1 - e) x the target
 * plus e spread uniformly over the vocabulary (Szegedy et al. 2016); 0 is plain cross-entropy.
 */
export function tokenCrossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D, labelSmoothing = 0): LossTensors {
  const [rows, len] = targets.shape;
  const flatLogits = tf.reshape(logits, [rows * len, VOCAB_SIZE]);
  const flatTargets = tf.reshape(targets, [rows * len]);
  const mask = tf.cast(tf.notEqual(flatTargets, PAD), 'float32');
  // PAD rows get a zero one-hot AND a zero mask: their logits cannot reach the loss or gradient.
  const oneHot = oneHotFloat(flatTargets as tf.Tensor1D, VOCAB_SIZE);
  const logProbs = tf.logSoftmax(flatLogits);
  const wanted = labelSmoothing > 0 ? tf.add(tf.mul(oneHot, 1 - labelSmoothing), labelSmoothing / VOCAB_SIZE) : oneHot;
  const nll = tf.neg(tf.sum(tf.mul(wanted, logProbs), -1));
  const lossSum = tf.sum(tf.mul(nll, mask)) as tf.Scalar;

  const counts = tf.tidy(() => {
    const predicted = tf.argMax(flatLogits, -1);
    const correct = tf.mul(tf.cast(tf.equal(predicted, flatTargets), 'float32'), mask);
    const wrongPerRow = tf.sum(tf.reshape(tf.sub(mask, correct), [rows, len]), -1);
    const idCorrect = tf.sum(tf.cast(tf.equal(wrongPerRow, 0), 'float32'));
    return tf.stack([tf.sum(mask), tf.sum(correct), tf.scalar(rows, 'float32'), idCorrect]) as tf.Tensor1D;
  });
  return { lossSum, counts };
}
