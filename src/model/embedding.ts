/**
 * One vector per image from the encoder: mean-pooled patch rows, L2-normalised. The dense
 * dual-encoder baseline trains (src/train/dense/) and ranks (src/eval/rankers.ts) with it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DsiModel } from './types.ts';

/** [B, D] unit vectors for B images (0..255 floats, [B, S, S, 3]). */
export function imageEmbedding(model: DsiModel, images: tf.Tensor4D, training: boolean, seed = 0): tf.Tensor2D {
  return tf.tidy(() => {
    return unitLength(tf.mean(model.encode(images, { training, seed }), 1) as tf.Tensor2D);
  });
}

/** Each row of [N, D] scaled to unit L2 norm (cosine similarity becomes a dot product). */
export function unitLength(rows: tf.Tensor2D): tf.Tensor2D {
  return tf.div(rows, tf.add(tf.norm(rows, 'euclidean', 1, true), 1e-8)) as tf.Tensor2D;
}
