/**
 * The few image filters SIFT needs, on single-channel Float32 images (row-major, width x height).
 * They follow OpenCV's conventions (kernel size, BORDER_REFLECT_101, half-pixel centres) because the
 * tests compare our keypoints with OpenCV's: a different border rule moves extrema near the edges.
 */

/** A single-channel float image. */
export interface GrayImage {
  width: number;
  height: number;
  data: Float32Array;
}

/** OpenCV's greyscale weights (ITU-R BT.601), rounded to whole levels as cvtColor does for uint8. */
export function rgbToGray(rgb: Uint8Array, width: number, height: number): GrayImage {
  const n = width * height;
  if (rgb.length < n * 3) throw new Error(`rgbToGray: ${rgb.length} bytes for a ${width}x${height} RGB image`);
  const data = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    data[i] = Math.round(0.299 * rgb[j] + 0.587 * rgb[j + 1] + 0.114 * rgb[j + 2]);
  }
  return { width, height, data };
}

/** Normalised 1-D Gaussian kernel of OpenCV's size for float images: round(8 sigma + 1) | 1 taps. */
export function gaussianKernel(sigma: number): Float32Array {
  const size = Math.round(sigma * 8 + 1) | 1;
  const radius = (size - 1) / 2;
  const kernel = new Float32Array(size);
  const scale = -0.5 / (sigma * sigma);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = i - radius;
    kernel[i] = Math.exp(scale * x * x);
    sum += kernel[i];
  }
  for (let i = 0; i < size; i++) kernel[i] /= sum;
  return kernel;
}

/** Index reflected into [0, n) without repeating the edge pixel (OpenCV BORDER_REFLECT_101: dcb|abcd|cba). */
function reflect101(i: number, n: number): number {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

/**
 * Separable Gaussian blur (rows, then columns) into a new image. The row pass pads each row once
 * so the inner loop has no border tests; the column pass accumulates whole rows, which keeps memory
 * access sequential.
 */
export function gaussianBlur(src: GrayImage, sigma: number): GrayImage {
  const { width: w, height: h, data } = src;
  const kernel = gaussianKernel(sigma);
  const size = kernel.length;
  const r = (size - 1) >> 1;
  const tmp = new Float32Array(w * h);
  const padded = new Float32Array(w + 2 * r);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) padded[x + r] = data[row + x];
    for (let x = 1; x <= r; x++) {
      padded[r - x] = data[row + reflect101(-x, w)];
      padded[r + w - 1 + x] = data[row + reflect101(w - 1 + x, w)];
    }
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let k = 0; k < size; k++) acc += kernel[k] * padded[x + k];
      tmp[row + x] = acc;
    }
  }
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const dst = y * w;
    for (let k = 0; k < size; k++) {
      const weight = kernel[k];
      const srcRow = reflect101(y + k - r, h) * w;
      for (let x = 0; x < w; x++) out[dst + x] += weight * tmp[srcRow + x];
    }
  }
  return { width: w, height: h, data: out };
}

/** Bilinear 2x upsampling with pixel centres aligned as OpenCV's resize (src = (dst + 0.5) / 2 - 0.5). */
export function upsample2x(src: GrayImage): GrayImage {
  const { width: w, height: h, data } = src;
  const W = w * 2;
  const H = h * 2;
  const out = new Float32Array(W * H);
  // Each output pixel sits a quarter pixel from its nearest source pixel: weights 0.75 / 0.25.
  const rowTmp = new Float32Array(W);
  for (let Y = 0; Y < H; Y++) {
    const sy = (Y + 0.5) / 2 - 0.5;
    const y0 = Math.floor(sy);
    const fy = sy - y0;
    const ya = Math.min(Math.max(y0, 0), h - 1) * w;
    const yb = Math.min(Math.max(y0 + 1, 0), h - 1) * w;
    for (let X = 0; X < W; X++) {
      const sx = (X + 0.5) / 2 - 0.5;
      const x0 = Math.floor(sx);
      const fx = sx - x0;
      const xa = Math.min(Math.max(x0, 0), w - 1);
      const xb = Math.min(Math.max(x0 + 1, 0), w - 1);
      const top = data[ya + xa] * (1 - fx) + data[ya + xb] * fx;
      const bottom = data[yb + xa] * (1 - fx) + data[yb + xb] * fx;
      rowTmp[X] = top * (1 - fy) + bottom * fy;
    }
    out.set(rowTmp, Y * W);
  }
  return { width: W, height: H, data: out };
}

/** Every second pixel (OpenCV INTER_NEAREST to half size): the next octave's first layer. */
export function downsample2x(src: GrayImage): GrayImage {
  const W = src.width >> 1;
  const H = src.height >> 1;
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    const s = 2 * y * src.width;
    const d = y * W;
    for (let x = 0; x < W; x++) out[d + x] = src.data[s + 2 * x];
  }
  return { width: W, height: H, data: out };
}
