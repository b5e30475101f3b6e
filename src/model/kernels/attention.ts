/**
 * attend(q, k, v, mask) = softmax(q k^T / sqrt(dh) + mask) v for G independent groups
 * (batch x heads), with a fast path on wasm.
 *
 * WHY: tfjs-backend-wasm sends every matMul with a batch dimension > 1 to a slow generic loop
 * (~1.5 GFLOP/s here), while a plain 2-D matMul goes to XNNPACK (~20 GFLOP/s). Splitting along
 * the group axis (contiguous, cheap), doing G small 2-D matMuls and concatenating measured ~5x
 * faster for the encoder's [128 x 100 x 32] attention. The gradient is written by hand for the
 * same reason (the default one would use batched matMuls with transpose flags).
 * For short query sequences (the decoder, T <= 8) per-group overhead dominates, so the batched
 * kernels are used there, and on other backends. test/model.test.ts checks value and gradients
 * against the plain formulation.
 */
import * as tf from '@tensorflow/tfjs-core';
import { customGradient } from './custom-gradient.ts';
import { installWasmKernels } from './wasm-kernels.ts';

/** q [G,T,dh], k/v [G,S,dh], optional additive mask [T,S] -> [G,T,dh]. */
export function attend(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, mask: tf.Tensor2D | null): tf.Tensor3D {
  const scale = 1 / Math.sqrt(q.shape[2]);
  // Only wasm has the slow batched matMul; native TensorFlow (CPU/GPU) and the JS cpu backend
  // run batched matMuls at full speed and would only pay for the host round trip.
  if (q.shape[1] >= 16 && tf.getBackend() === 'wasm') {
    installWasmKernels();
    return groupedAttention(q, k, v, mask, scale);
  }
  return plainAttention(q, k, v, mask, scale);
}

/** The mathematics, with tfjs's own batched kernels and gradients. */
export function plainAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, mask: tf.Tensor2D | null, scale: number): tf.Tensor3D {
  let scores = tf.mul(tf.matMul(q, k, false, true), scale) as tf.Tensor3D;
  if (mask) scores = tf.add(scores, mask);
  return tf.matMul(tf.softmax(scores), v);
}

/** G separate 2-D products a_g @ b_g (a [G,m,k], b [G,k,n]) -> [G,m,n]. */
export function groupedMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const g = a.shape[0];
  // Unstacking is a contiguous copy per group with wasm-kernels.ts's Unpack (wasm's own copied the
  // whole tensor per group; reading it to the host and uploading each group was the workaround).
  const as = tf.unstack(a) as tf.Tensor2D[];
  const bs = tf.unstack(b) as tf.Tensor2D[];
  const outs = as.map((ai, i) => tf.matMul(ai, bs[i]));
  const out = tf.reshape(tf.concat(outs, 0), [g, a.shape[1], b.shape[2]]) as tf.Tensor3D;
  tf.dispose([...as, ...bs, ...outs]);
  return out;
}

const swapLast = (x: tf.Tensor3D) => tf.transpose(x, [0, 2, 1]) as tf.Tensor3D;

/** Hand-written attention with grouped 2-D matMuls in both directions. */
function groupedAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, mask: tf.Tensor2D | null, scale: number): tf.Tensor3D {
  const f = customGradient((qq: tf.Tensor3D, kk: tf.Tensor3D, vv: tf.Tensor3D, save: tf.GradSaveFunc) => {
    let scores = tf.mul(groupedMatMul(qq, swapLast(kk)), scale) as tf.Tensor3D;
    if (mask) scores = tf.add(scores, mask);
    const p = tf.softmax(scores) as tf.Tensor3D;
    save([qq, kk, vv, p]);
    return {
      value: groupedMatMul(p, vv),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [qs, ks, vs, ps] = saved as tf.Tensor3D[];
        const dOut = dy as tf.Tensor3D;
        const dP = groupedMatMul(dOut, swapLast(vs));
        const dV = groupedMatMul(swapLast(ps), dOut);
        // softmax backward: dS = P * (dP - rowsum(dP * P)), then the scale.
        const dS = tf.mul(tf.mul(ps, tf.sub(dP, tf.sum(tf.mul(dP, ps), -1, true))), scale) as tf.Tensor3D;
        const dQ = groupedMatMul(dS, ks);
        const dK = groupedMatMul(swapLast(dS), qs);
        return [dQ, dK, dV];
      },
    };
  });
  return f(q, k, v) as tf.Tensor3D;
}
