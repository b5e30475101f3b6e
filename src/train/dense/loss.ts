/**
 * The dense baseline's objectives over one batch of L2-normalised image embeddings
 * (train.dense_objective): a supervised contrastive loss (Khosla et al. 2020), or a cosine
 * classifier (softmax over the cosine similarity to one learned vector per class, as in
 * normalised-softmax metric learning). Both leave an embedding that ranks by cosine similarity.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from '../../config/sections/train.ts';

/**
 * Every image is an anchor; its positives are the other images of the batch that share a class;
 * the softmax is over every other image. Anchors without a positive do not count.
 */
export function supervisedContrastiveLoss(embeddings: tf.Tensor2D, positives: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const n = embeddings.shape[0];
    const self = tf.eye(n);
    const logits = tf.sub(tf.div(tf.matMul(embeddings, embeddings, false, true), temperature), tf.mul(self, 1e9));
    const logProbs = tf.logSoftmax(logits, 1);
    const counts = tf.sum(positives, 1);
    const perAnchor = tf.div(tf.neg(tf.sum(tf.mul(positives, logProbs), 1)), tf.maximum(counts, 1));
    const anchors = tf.cast(tf.greater(counts, 0), 'float32');
    return tf.div(tf.sum(tf.mul(perAnchor, anchors)), tf.maximum(tf.sum(anchors), 1)) as tf.Scalar;
  });
}

/**
 * Cross-entropy of softmax(cos(embedding, class vector) / temperature) against `targets` (one row
 * per image, its classes' shares: one-hot, or 1/n over n classes for a multi-label image).
 */
export function cosineClassifierLoss(embeddings: tf.Tensor2D, classVectors: tf.Tensor2D, targets: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const unit = tf.div(classVectors, tf.add(tf.norm(classVectors, 'euclidean', 1, true), 1e-8));
    const logProbs = tf.logSoftmax(tf.div(tf.matMul(embeddings, unit, false, true), temperature), 1);
    return tf.mean(tf.neg(tf.sum(tf.mul(targets, logProbs), 1))) as tf.Scalar;
  });
}

/** One batch's tensors for the objective. */
export interface DenseBatchTensors {
  /** count x count: 1 where two different images share a class. */
  positives: tf.Tensor2D;
  /** count x classes: each image's classes' shares. */
  targets: tf.Tensor2D;
}

/** The objective and the variables it trains itself (the classifier's class vectors; none for contrastive). */
export interface DenseObjective {
  variables: ReadonlyMap<string, tf.Variable>;
  loss(embeddings: tf.Tensor2D, batch: DenseBatchTensors): tf.Scalar;
  dispose(): void;
}

export function createObjective(train: TrainConfig, classes: number, dim: number): DenseObjective {
  const temperature = train.dense_temperature;
  if (train.dense_objective === 'contrastive') {
    return { variables: new Map(), loss: (e, b) => supervisedContrastiveLoss(e, b.positives, temperature), dispose: () => {} };
  }
  // Unnamed: tfjs names variables globally, and two engines may hold an objective at once.
  const vectors = tf.variable(tf.randomNormal([classes, dim], 0, 1, 'float32', train.seed), true) as tf.Variable<tf.Rank.R2>;
  return {
    variables: new Map([['dense.class_vectors', vectors]]),
    loss: (e, b) => cosineClassifierLoss(e, vectors, b.targets, temperature),
    dispose: () => vectors.dispose(),
  };
}
