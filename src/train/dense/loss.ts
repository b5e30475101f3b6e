/**
 * The dense baseline's objective: a supervised contrastive loss (Khosla et al. 2020) over one batch
 * of L2-normalised image embeddings.
 */
import * as tf from '@tensorflow/tfjs-core';

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
