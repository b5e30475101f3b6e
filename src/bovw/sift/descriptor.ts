import type { GrayImage } from './filters.ts';
import { angleDegrees } from './orientation.ts';

/** 4 x 4 spatial cells x 8 orientation bins = 128 values (Lowe section 6). */
export const DESCRIPTOR_WIDTH = 4;
export const DESCRIPTOR_BINS = 8;
export const DESCRIPTOR_SIZE = DESCRIPTOR_WIDTH * DESCRIPTOR_WIDTH * DESCRIPTOR_BINS;
/** Each cell spans 3 keypoint sigmas. */
const CELL_SCALE_FACTOR = 3;
/** Clipping of the unit vector: limits the influence of large gradient magnitudes (illumination). */
const MAGNITUDE_CLIP = 0.2;
/** OpenCV scales the unit vector by 512 and saturates to 0..255 bytes; we keep its convention. */
const BYTE_SCALE = 512;

/**
 * Writes the 128-d descriptor of a keypoint into `out[offset..offset+128)`: gradients in a rotated
 * window around round(x, y) of Gaussian layer `img`, Gaussian-weighted, trilinearly spread into
 * (row, col, orientation) bins, normalised, clipped at 0.2, renormalised, scaled to 0..255.
 * `orientation` in degrees (y up), `scale` = keypoint sigma in the layer's pixels.
 */
export function writeDescriptor(
  img: GrayImage, x: number, y: number, orientation: number, scale: number,
  out: Float32Array, offset: number, work: Float32Array = descriptorWorkspace(),
): void {
  const d = DESCRIPTOR_WIDTH;
  const n = DESCRIPTOR_BINS;
  const px = Math.round(x);
  const py = Math.round(y);
  const { width: cols, height: rows, data } = img;
  const histWidth = CELL_SCALE_FACTOR * scale;
  let radius = Math.round(histWidth * Math.SQRT2 * (d + 1) * 0.5);
  radius = Math.min(radius, Math.floor(Math.sqrt(cols * cols + rows * rows)));
  const cosT = Math.cos((orientation * Math.PI) / 180) / histWidth;
  const sinT = Math.sin((orientation * Math.PI) / 180) / histWidth;
  const binsPerDegree = n / 360;
  const expScale = -1 / (d * d * 0.5);
  // (d+2) x (d+2) x (n+2) with a guard ring: interpolation may spill one bin past each edge.
  const hist = work;
  hist.fill(0);
  const rowStride = (d + 2) * (n + 2);
  for (let i = -radius; i <= radius; i++) {
    const r = py + i;
    if (r <= 0 || r >= rows - 1) continue;
    for (let j = -radius; j <= radius; j++) {
      const c = px + j;
      if (c <= 0 || c >= cols - 1) continue;
      const cRot = j * cosT - i * sinT;
      const rRot = j * sinT + i * cosT;
      // -0.5 so a sample at the centre of cell 1 (rot = 1.5) goes entirely into cell 1.
      let rbin = rRot + d / 2 - 0.5;
      let cbin = cRot + d / 2 - 0.5;
      if (!(rbin > -1 && rbin < d && cbin > -1 && cbin < d)) continue;
      const p = r * cols + c;
      const dx = data[p + 1] - data[p - 1];
      const dy = data[p - cols] - data[p + cols];
      const mag = Math.sqrt(dx * dx + dy * dy) * Math.exp((cRot * cRot + rRot * rRot) * expScale);
      let obin = (angleDegrees(dy, dx) - orientation) * binsPerDegree;
      const r0 = Math.floor(rbin);
      const c0 = Math.floor(cbin);
      let o0 = Math.floor(obin);
      rbin -= r0;
      cbin -= c0;
      obin -= o0;
      if (o0 < 0) o0 += n;
      if (o0 >= n) o0 -= n;
      const vR1 = mag * rbin;
      const vR0 = mag - vR1;
      const vRC11 = vR1 * cbin;
      const vRC10 = vR1 - vRC11;
      const vRC01 = vR0 * cbin;
      const vRC00 = vR0 - vRC01;
      const idx = ((r0 + 1) * (d + 2) + c0 + 1) * (n + 2) + o0;
      hist[idx] += vRC00 - vRC00 * obin;
      hist[idx + 1] += vRC00 * obin;
      hist[idx + n + 2] += vRC01 - vRC01 * obin;
      hist[idx + n + 3] += vRC01 * obin;
      hist[idx + rowStride] += vRC10 - vRC10 * obin;
      hist[idx + rowStride + 1] += vRC10 * obin;
      hist[idx + rowStride + n + 2] += vRC11 - vRC11 * obin;
      hist[idx + rowStride + n + 3] += vRC11 * obin;
    }
  }
  // Orientation is circular: fold the two spill bins back, then copy the inner 4x4x8 out.
  let norm2 = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const idx = ((i + 1) * (d + 2) + (j + 1)) * (n + 2);
      hist[idx] += hist[idx + n];
      hist[idx + 1] += hist[idx + n + 1];
      for (let k = 0; k < n; k++) {
        const v = hist[idx + k];
        out[offset + (i * d + j) * n + k] = v;
        norm2 += v * v;
      }
    }
  }
  const clip = Math.sqrt(norm2) * MAGNITUDE_CLIP;
  norm2 = 0;
  for (let k = 0; k < DESCRIPTOR_SIZE; k++) {
    const v = Math.min(out[offset + k], clip);
    out[offset + k] = v;
    norm2 += v * v;
  }
  const factor = BYTE_SCALE / Math.max(Math.sqrt(norm2), 1.2e-7);
  for (let k = 0; k < DESCRIPTOR_SIZE; k++) {
    out[offset + k] = Math.min(255, Math.max(0, Math.round(out[offset + k] * factor)));
  }
}

/** Scratch buffer for `writeDescriptor` (reuse it across keypoints to avoid garbage). */
export function descriptorWorkspace(): Float32Array {
  return new Float32Array((DESCRIPTOR_WIDTH + 2) * (DESCRIPTOR_WIDTH + 2) * (DESCRIPTOR_BINS + 2));
}
