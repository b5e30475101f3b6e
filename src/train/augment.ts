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

/** Crop of area in [minScale, 1] x the image and aspect ratio in [3/4, 4/3], resized back (bilinear). */
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
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const sy = Math.min(h - 1, Math.max(0, ((y + 0.5) * h) / size - 0.5));
    const ya = Math.floor(sy);
    const yb = Math.min(h - 1, ya + 1);
    const fy = sy - ya;
    for (let x = 0; x < size; x++) {
      const sx = Math.min(w - 1, Math.max(0, ((x + 0.5) * w) / size - 0.5));
      const xa = Math.floor(sx);
      const xb = Math.min(w - 1, xa + 1);
      const fx = sx - xa;
      for (let c = 0; c < 3; c++) {
        const at = (yy: number, xx: number) => src[((y0 + yy) * size + x0 + xx) * 3 + c];
        const top = at(ya, xa) * (1 - fx) + at(ya, xb) * fx;
        const bottom = at(yb, xa) * (1 - fx) + at(yb, xb) * fx;
        out[(y * size + x) * 3 + c] = Math.round(top * (1 - fy) + bottom * fy);
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
  for (let p = 0; p < img.length; p += 3) {
    const r = img[p] * brightness;
    const g = img[p + 1] * brightness;
    const b = img[p + 2] * brightness;
    const grey = 0.299 * r + 0.587 * g + 0.114 * b;
    for (const [c, v] of [[0, r], [1, g], [2, b]] as const) {
      const saturated = grey + (v - grey) * saturation;
      img[p + c] = clamp255(meanGrey + (saturated - meanGrey) * contrast);
    }
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
