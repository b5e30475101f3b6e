/**
 * Label-preserving augmentation of training images, on the uint8 pixel buffers (no tfjs): random
 * resized crop, horizontal flip, colour jitter, random erasing (DeiT / "How to train your ViT"
 * recipes; for DSI the image analogue of query generation: many views of each indexed image).
 *
 * Every random choice comes from an Rng seeded by (train.seed, the epoch's first step, image row,
 * view), never from the trainer's stream: an augmented view is a pure function of those, so a
 * resumed run sees exactly the views an uninterrupted one does, and switching augmentation off
 * leaves the reference's random stream untouched.
 */
import type { TrainConfig } from '../config/sections/train.ts';
import { Rng } from '../runtime/rng.ts';

export interface AugmentOptions {
  /** Random resized crop: smallest crop area as a fraction of the image (1 = no crop). */
  cropScale: number;
  /** Probability of a horizontal flip. */
  flip: number;
  /** Colour jitter strength s: brightness, contrast and saturation factors drawn from [1-s, 1+s]. */
  colorJitter: number;
  /** Probability of erasing one random rectangle (filled with noise). */
  erase: number;
}

export function augmentOptionsOf(train: TrainConfig): AugmentOptions | null {
  const o = { cropScale: train.aug_crop_scale, flip: train.aug_flip, colorJitter: train.aug_color_jitter, erase: train.aug_erase };
  return o.cropScale < 1 || o.flip > 0 || o.colorJitter > 0 || o.erase > 0 ? o : null;
}

/** A seed from several integers (splitmix-style mixing), so nearby inputs give unrelated streams. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** A new S x S x 3 uint8 image: one augmented view of `src`, determined by `seed`. */
export function augmentImage(src: Uint8Array, size: number, seed: number, o: AugmentOptions): Uint8Array {
  const rng = new Rng(seed);
  let img = o.cropScale < 1 ? randomResizedCrop(src, size, o.cropScale, rng) : Uint8Array.from(src);
  if (o.flip > 0 && rng.next() < o.flip) img = flipHorizontal(img, size);
  if (o.colorJitter > 0) colorJitter(img, o.colorJitter, rng);
  if (o.erase > 0 && rng.next() < o.erase) randomErase(img, size, rng);
  return img;
}

/**
 * Crop of area in [minScale, 1] x the image and aspect ratio in [3/4, 4/3], resized back (bilinear).
 * Written as flat loops over precomputed column tables: a closure per sample made this 50 ms a
 * 160 px view, the trainer's largest cost after the step itself. The arithmetic (and its order) is
 * the first version's, so every view is byte-identical to the views the published runs trained on.
 */
function randomResizedCrop(src: Uint8Array, size: number, minScale: number, rng: Rng): Uint8Array {
  let w = size;
  let h = size;
  for (let attempt = 0; attempt < 10; attempt++) {
    const area = size * size * (minScale + (1 - minScale) * rng.next());
    const ratio = Math.exp(Math.log(3 / 4) + (Math.log(4 / 3) - Math.log(3 / 4)) * rng.next());
    const cw = Math.round(Math.sqrt(area * ratio));
    const ch = Math.round(Math.sqrt(area / ratio));
    if (cw >= 1 && ch >= 1 && cw <= size && ch <= size) {
      w = cw;
      h = ch;
      break;
    }
  }
  const x0 = rng.int(size - w + 1);
  const y0 = rng.int(size - h + 1);
  // Per output column: the two source columns (as byte offsets within a row) and the weight.
  const colA = new Int32Array(size);
  const colB = new Int32Array(size);
  const colF = new Float64Array(size);
  for (let x = 0; x < size; x++) {
    const sx = Math.min(w - 1, Math.max(0, ((x + 0.5) * w) / size - 0.5));
    const xa = Math.floor(sx);
    colA[x] = (x0 + xa) * 3;
    colB[x] = (x0 + Math.min(w - 1, xa + 1)) * 3;
    colF[x] = sx - xa;
  }
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const sy = Math.min(h - 1, Math.max(0, ((y + 0.5) * h) / size - 0.5));
    const ya = Math.floor(sy);
    const fy = sy - ya;
    const rowA = (y0 + ya) * size * 3;
    const rowB = (y0 + Math.min(h - 1, ya + 1)) * size * 3;
    let o = y * size * 3;
    for (let x = 0; x < size; x++) {
      const fx = colF[x];
      const a = colA[x];
      const b = colB[x];
      for (let c = 0; c < 3; c++, o++) {
        const top = src[rowA + a + c] * (1 - fx) + src[rowA + b + c] * fx;
        const bottom = src[rowB + a + c] * (1 - fx) + src[rowB + b + c] * fx;
        out[o] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return out;
}

function flipHorizontal(src: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const from = (y * size + (size - 1 - x)) * 3;
      const to = (y * size + x) * 3;
      out[to] = src[from];
      out[to + 1] = src[from + 1];
      out[to + 2] = src[from + 2];
    }
  }
  return out;
}

/** Brightness, contrast (around the mean grey) and saturation (around each pixel's grey), in place. */
function colorJitter(img: Uint8Array, strength: number, rng: Rng): void {
  const factor = () => 1 - strength + 2 * strength * rng.next();
  const brightness = factor();
  const contrast = factor();
  const saturation = factor();
  let meanGrey = 0;
  for (let p = 0; p < img.length; p += 3) meanGrey += 0.299 * img[p] + 0.587 * img[p + 1] + 0.114 * img[p + 2];
  meanGrey = (meanGrey / (img.length / 3)) * brightness;
  const jitter = (v: number, grey: number) => clamp255(meanGrey + (grey + (v - grey) * saturation - meanGrey) * contrast);
  for (let p = 0; p < img.length; p += 3) {
    const r = img[p] * brightness;
    const g = img[p + 1] * brightness;
    const b = img[p + 2] * brightness;
    const grey = 0.299 * r + 0.587 * g + 0.114 * b;
    img[p] = jitter(r, grey);
    img[p + 1] = jitter(g, grey);
    img[p + 2] = jitter(b, grey);
  }
}

/** Random erasing (Zhong et al. 2020): a rectangle of 2-25% of the area, aspect 0.3-3.3, filled with noise. */
function randomErase(img: Uint8Array, size: number, rng: Rng): void {
  for (let attempt = 0; attempt < 10; attempt++) {
    const area = size * size * (0.02 + 0.23 * rng.next());
    const ratio = Math.exp(Math.log(0.3) + (Math.log(3.3) - Math.log(0.3)) * rng.next());
    const w = Math.round(Math.sqrt(area * ratio));
    const h = Math.round(Math.sqrt(area / ratio));
    if (w < 1 || h < 1 || w > size || h > size) continue;
    const x0 = rng.int(size - w + 1);
    const y0 = rng.int(size - h + 1);
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) for (let c = 0; c < 3; c++) img[(y * size + x) * 3 + c] = rng.int(256);
    return;
  }
}

function clamp255(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}
