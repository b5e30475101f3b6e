import type { GrayImage } from './filters.ts';

const ORIENTATION_BINS = 36;
/** Gaussian window of 1.5 x the keypoint scale, sampled to 3 sigma (Lowe section 5). */
const WINDOW_SIGMA_FACTOR = 1.5;
const WINDOW_RADIUS_FACTOR = 3 * WINDOW_SIGMA_FACTOR;
/** Any other peak within 80% of the highest one gives an extra keypoint with that orientation. */
const PEAK_RATIO = 0.8;
const RAD_TO_DEG = 180 / Math.PI;

/** Gradient direction in degrees [0, 360), y pointing up (OpenCV's fastAtan2 convention in SIFT). */
export function angleDegrees(dy: number, dx: number): number {
  const a = Math.atan2(dy, dx) * RAD_TO_DEG;
  return a < 0 ? a + 360 : a;
}

/**
 * Dominant gradient orientations around (col, row) of a Gaussian layer, `scale` being the keypoint's
 * sigma in that octave's pixels. Returns OpenCV `KeyPoint.angle` values (360 - orientation, degrees),
 * one per histogram peak >= 80% of the maximum, each interpolated with a parabola.
 */
export function dominantOrientations(img: GrayImage, col: number, row: number, scale: number): number[] {
  const n = ORIENTATION_BINS;
  const radius = Math.round(WINDOW_RADIUS_FACTOR * scale);
  const sigma = WINDOW_SIGMA_FACTOR * scale;
  const expScale = -1 / (2 * sigma * sigma);
  const { width: w, height: h, data } = img;
  // Two guard bins on each side make the circular smoothing below branch-free.
  const raw = new Float64Array(n + 4);
  for (let i = -radius; i <= radius; i++) {
    const y = row + i;
    if (y <= 0 || y >= h - 1) continue;
    for (let j = -radius; j <= radius; j++) {
      const x = col + j;
      if (x <= 0 || x >= w - 1) continue;
      const p = y * w + x;
      const dx = data[p + 1] - data[p - 1];
      const dy = data[p - w] - data[p + w];
      const weight = Math.exp((i * i + j * j) * expScale);
      let bin = Math.round((n / 360) * angleDegrees(dy, dx));
      if (bin >= n) bin -= n;
      if (bin < 0) bin += n;
      raw[bin + 2] += weight * Math.sqrt(dx * dx + dy * dy);
    }
  }
  raw[1] = raw[n + 1];
  raw[0] = raw[n];
  raw[n + 2] = raw[2];
  raw[n + 3] = raw[3];
  const hist = new Float64Array(n);
  let max = 0;
  for (let i = 0; i < n; i++) {
    const k = i + 2;
    hist[i] = (raw[k - 2] + raw[k + 2]) / 16 + ((raw[k - 1] + raw[k + 1]) * 4) / 16 + (raw[k] * 6) / 16;
    if (hist[i] > max) max = hist[i];
  }
  const threshold = max * PEAK_RATIO;
  const angles: number[] = [];
  for (let j = 0; j < n; j++) {
    const left = j > 0 ? j - 1 : n - 1;
    const right = j < n - 1 ? j + 1 : 0;
    if (hist[j] > hist[left] && hist[j] > hist[right] && hist[j] >= threshold) {
      let bin = j + (0.5 * (hist[left] - hist[right])) / (hist[left] - 2 * hist[j] + hist[right]);
      bin = bin < 0 ? n + bin : bin >= n ? bin - n : bin;
      let angle = 360 - (360 / n) * bin;
      if (Math.abs(angle - 360) < 1.2e-7) angle = 0;
      angles.push(angle);
    }
  }
  return angles;
}
