import type { ScaleSpace, SiftParams } from './scale-space.ts';

/** Keypoints closer than this to an octave's edge are ignored (their descriptors would be clipped). */
export const IMAGE_BORDER = 5;
const MAX_INTERPOLATION_STEPS = 5;

/** A DoG extremum refined to sub-pixel position and sub-layer scale, in its octave's pixels. */
export interface Extremum {
  octave: number;
  /** Integer layer (1..s) of the DoG sample after refinement; its Gaussian is `gaussians[octave][layer]`. */
  layer: number;
  row: number;
  col: number;
  /** Sub-pixel offsets in [-0.5, 0.5) added to col, row, layer. */
  dx: number;
  dy: number;
  ds: number;
  /** |interpolated DoG value| on [0,1] intensities: OpenCV's `response`. */
  response: number;
}

/**
 * Every extremum of the DoG pyramid that survives Lowe's tests: a strict-or-equal max/min of its
 * 26 neighbours above a pre-threshold, converging quadratic refinement (<= 5 moves), contrast and
 * edge (principal curvature ratio) rejection.
 */
export function findExtrema(space: ScaleSpace, params: SiftParams): Extremum[] {
  const s = params.octaveLayers;
  // The cheap pre-filter OpenCV uses (half the final contrast threshold, in 0..255 levels).
  const threshold = Math.floor((0.5 * params.contrastThreshold) / s * 255);
  const found: Extremum[] = [];
  for (let o = 0; o < space.dogs.length; o++) {
    const dogs = space.dogs[o];
    const w = dogs[0].width;
    const h = dogs[0].height;
    const ring = Int32Array.of(-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1);
    for (let i = 1; i <= s; i++) {
      const prev = dogs[i - 1].data;
      const cur = dogs[i].data;
      const next = dogs[i + 1].data;
      for (let r = IMAGE_BORDER; r < h - IMAGE_BORDER; r++) {
        for (let c = IMAGE_BORDER; c < w - IMAGE_BORDER; c++) {
          const p = r * w + c;
          const v = cur[p];
          if (!(Math.abs(v) > threshold)) continue;
          if (!isExtremum(v, p, ring, prev, cur, next)) continue;
          const e = refine(space, params, o, i, r, c);
          if (e) found.push(e);
        }
      }
    }
  }
  return found;
}

/** Max (v > 0) or min (v < 0) of its 3x3x3 neighbourhood, ties allowed as in OpenCV. */
function isExtremum(v: number, p: number, ring: Int32Array, prev: Float32Array, cur: Float32Array, next: Float32Array): boolean {
  if (v > 0) {
    if (v < prev[p] || v < next[p]) return false;
    for (let k = 0; k < 8; k++) {
      const q = p + ring[k];
      if (v < cur[q] || v < prev[q] || v < next[q]) return false;
    }
    return true;
  }
  if (v > prev[p] || v > next[p]) return false;
  for (let k = 0; k < 8; k++) {
    const q = p + ring[k];
    if (v > cur[q] || v > prev[q] || v > next[q]) return false;
  }
  return true;
}

/** Solves H x = g for a symmetric 3x3 H by Gaussian elimination with partial pivoting; null if singular. */
function solve3(H: number[], g: number[]): number[] | null {
  const m = [
    [H[0], H[1], H[2], g[0]],
    [H[3], H[4], H[5], g[1]],
    [H[6], H[7], H[8], g[2]],
  ];
  for (let col = 0; col < 3; col++) {
    let pivot = col;
    for (let row = col + 1; row < 3; row++) if (Math.abs(m[row][col]) > Math.abs(m[pivot][col])) pivot = row;
    if (Math.abs(m[pivot][col]) < 1e-12) return null;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let row = col + 1; row < 3; row++) {
      const f = m[row][col] / m[col][col];
      for (let k = col; k < 4; k++) m[row][k] -= f * m[col][k];
    }
  }
  const x = [0, 0, 0];
  for (let row = 2; row >= 0; row--) {
    let acc = m[row][3];
    for (let k = row + 1; k < 3; k++) acc -= m[row][k] * x[k];
    x[row] = acc / m[row][row];
  }
  return x;
}

/** Quadratic (Taylor) refinement of a candidate, Lowe section 4; values rescaled to [0,1] intensities. */
function refine(space: ScaleSpace, params: SiftParams, o: number, layer0: number, r0: number, c0: number): Extremum | null {
  const s = params.octaveLayers;
  const dogs = space.dogs[o];
  const w = dogs[0].width;
  const h = dogs[0].height;
  const scale = 1 / 255;
  let layer = layer0;
  let r = r0;
  let c = c0;
  let dx = 0;
  let dy = 0;
  let ds = 0;
  let grad = [0, 0, 0];
  let step = 0;
  for (; step < MAX_INTERPOLATION_STEPS; step++) {
    const img = dogs[layer].data;
    const prev = dogs[layer - 1].data;
    const next = dogs[layer + 1].data;
    const p = r * w + c;
    grad = [
      (img[p + 1] - img[p - 1]) * scale * 0.5,
      (img[p + w] - img[p - w]) * scale * 0.5,
      (next[p] - prev[p]) * scale * 0.5,
    ];
    const v2 = img[p] * 2;
    const dxx = (img[p + 1] + img[p - 1] - v2) * scale;
    const dyy = (img[p + w] + img[p - w] - v2) * scale;
    const dss = (next[p] + prev[p] - v2) * scale;
    const dxy = (img[p + w + 1] - img[p + w - 1] - img[p - w + 1] + img[p - w - 1]) * scale * 0.25;
    const dxs = (next[p + 1] - next[p - 1] - prev[p + 1] + prev[p - 1]) * scale * 0.25;
    const dys = (next[p + w] - next[p - w] - prev[p + w] + prev[p - w]) * scale * 0.25;
    const x = solve3([dxx, dxy, dxs, dxy, dyy, dys, dxs, dys, dss], grad);
    if (!x) return null;
    dx = -x[0];
    dy = -x[1];
    ds = -x[2];
    if (Math.abs(ds) < 0.5 && Math.abs(dy) < 0.5 && Math.abs(dx) < 0.5) break;
    if (Math.abs(ds) > 1e8 || Math.abs(dy) > 1e8 || Math.abs(dx) > 1e8) return null;
    c += Math.round(dx);
    r += Math.round(dy);
    layer += Math.round(ds);
    if (layer < 1 || layer > s || c < IMAGE_BORDER || c >= w - IMAGE_BORDER || r < IMAGE_BORDER || r >= h - IMAGE_BORDER) {
      return null;
    }
  }
  if (step >= MAX_INTERPOLATION_STEPS) return null;

  const img = dogs[layer].data;
  const prev = dogs[layer - 1].data;
  const next = dogs[layer + 1].data;
  const p = r * w + c;
  const g = [
    (img[p + 1] - img[p - 1]) * scale * 0.5,
    (img[p + w] - img[p - w]) * scale * 0.5,
    (next[p] - prev[p]) * scale * 0.5,
  ];
  const contrast = img[p] * scale + 0.5 * (g[0] * dx + g[1] * dy + g[2] * ds);
  if (Math.abs(contrast) * s < params.contrastThreshold) return null;

  // Edge test: ratio of principal curvatures from the 2x2 spatial Hessian's trace and determinant.
  const v2 = img[p] * 2;
  const dxx = (img[p + 1] + img[p - 1] - v2) * scale;
  const dyy = (img[p + w] + img[p - w] - v2) * scale;
  const dxy = (img[p + w + 1] - img[p + w - 1] - img[p - w + 1] + img[p - w - 1]) * scale * 0.25;
  const trace = dxx + dyy;
  const det = dxx * dyy - dxy * dxy;
  const e = params.edgeThreshold;
  if (det <= 0 || trace * trace * e >= (e + 1) * (e + 1) * det) return null;

  return { octave: o, layer, row: r, col: c, dx, dy, ds, response: Math.abs(contrast) };
}
