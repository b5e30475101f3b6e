/**
 * Nearest-centroid search for many vectors at once: ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2, where
 * the x.c terms are a blocked dense product over typed arrays (no function call per pair). It is the
 * inner loop of both k-means and histogram building.
 */

/** Squared L2 norm of each row of an n x dim matrix. */
export function rowNorms2(matrix: Float32Array, rows: number, dim: number): Float32Array {
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    const base = r * dim;
    for (let d = 0; d < dim; d++) acc += matrix[base + d] * matrix[base + d];
    out[r] = acc;
  }
  return out;
}

export interface Assignment {
  /** Index of the nearest centroid per vector. */
  nearest: Int32Array;
  /** Squared distance to it (clamped at 0: the norm expansion can go slightly negative in float). */
  distance2: Float32Array;
}

/** Rows handled together, so a block of vectors stays in cache while every centroid streams past. */
const BLOCK = 64;

/** For each of `rows` vectors (row-major, `dim` wide) the nearest of `k` centroids. */
export function assignNearest(
  vectors: Float32Array, rows: number, centroids: Float32Array, k: number, dim: number,
  centroidNorms2: Float32Array = rowNorms2(centroids, k, dim),
): Assignment {
  const nearest = new Int32Array(rows);
  const distance2 = new Float32Array(rows);
  const dots = new Float64Array(BLOCK * k);
  for (let start = 0; start < rows; start += BLOCK) {
    const end = Math.min(rows, start + BLOCK);
    // dots[i, j] = x_i . c_j for the block; 4 centroids per pass reuse each loaded x value 4 times.
    for (let i = start; i < end; i++) {
      const xBase = i * dim;
      const dBase = (i - start) * k;
      let j = 0;
      for (; j + 4 <= k; j += 4) {
        const c0 = j * dim, c1 = c0 + dim, c2 = c1 + dim, c3 = c2 + dim;
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (let d = 0; d < dim; d++) {
          const x = vectors[xBase + d];
          a0 += x * centroids[c0 + d];
          a1 += x * centroids[c1 + d];
          a2 += x * centroids[c2 + d];
          a3 += x * centroids[c3 + d];
        }
        dots[dBase + j] = a0;
        dots[dBase + j + 1] = a1;
        dots[dBase + j + 2] = a2;
        dots[dBase + j + 3] = a3;
      }
      for (; j < k; j++) {
        const c = j * dim;
        let a = 0;
        for (let d = 0; d < dim; d++) a += vectors[xBase + d] * centroids[c + d];
        dots[dBase + j] = a;
      }
    }
    for (let i = start; i < end; i++) {
      const dBase = (i - start) * k;
      let best = 0;
      let bestScore = Infinity;
      // ||x||^2 is the same for every centroid: compare ||c||^2 - 2 x.c only.
      for (let j = 0; j < k; j++) {
        const score = centroidNorms2[j] - 2 * dots[dBase + j];
        if (score < bestScore) {
          bestScore = score;
          best = j;
        }
      }
      let x2 = 0;
      const xBase = i * dim;
      for (let d = 0; d < dim; d++) x2 += vectors[xBase + d] * vectors[xBase + d];
      nearest[i] = best;
      distance2[i] = Math.max(0, x2 + bestScore);
    }
  }
  return { nearest, distance2 };
}
