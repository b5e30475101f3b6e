/** Loads the OpenCV reference fixtures (made by scripts/make-sift-fixtures.py) and matches our keypoints to them. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { GrayImage, SiftFeatures } from '../src/bovw/sift/sift.ts';

export const FIXTURE_DIR = path.join(import.meta.dirname, 'fixtures', 'sift');
export const FIXTURE_NAMES = ['tench-160', 'church-160', 'parachute-160', 'springer-64'];

export interface OpenCvFixture {
  gray: GrayImage;
  /** [x, y, size, angle, response, octave] per keypoint. */
  keypoints: number[][];
  descriptors: Uint8Array;
}

export async function loadFixture(name: string): Promise<OpenCvFixture> {
  const meta = JSON.parse(readFileSync(path.join(FIXTURE_DIR, `${name}.json`), 'utf8'));
  const { data, info } = await sharp(path.join(FIXTURE_DIR, `${name}.png`)).greyscale().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 1) throw new Error(`${name}.png: expected 1 channel, got ${info.channels}`);
  const gray: GrayImage = { width: info.width, height: info.height, data: Float32Array.from(data) };
  const descriptors = new Uint8Array(readFileSync(path.join(FIXTURE_DIR, `${name}.desc.bin`)));
  return { gray, keypoints: meta.keypoints, descriptors };
}

export interface MatchStats {
  reference: number;
  ours: number;
  /** Fraction of OpenCV keypoints with one of ours within `maxDistance` px and 10% of its size. */
  recall: number;
  /** Fraction of OUR keypoints with an OpenCV one within `maxDistance` px and 10% of its size (no extra detections). */
  precision: number;
  /** Mean cosine similarity of matched descriptors (the closest in descriptor space among position matches). */
  meanCosine: number;
  /** Mean L2 distance of matched descriptors divided by the mean OpenCV descriptor norm. */
  relativeL2: number;
}

export function compareWithOpenCv(ref: OpenCvFixture, ours: SiftFeatures, maxDistance = 1): MatchStats {
  let matched = 0;
  let cosSum = 0;
  let l2Sum = 0;
  let normSum = 0;
  ref.keypoints.forEach(([x, y, size], i) => {
    const a = ref.descriptors.subarray(i * 128, (i + 1) * 128);
    let best = -1;
    let bestCos = -Infinity;
    ours.keypoints.forEach((k, j) => {
      if (Math.hypot(k.x - x, k.y - y) > maxDistance || Math.abs(k.size - size) > 0.1 * size) return;
      // Several orientations can share a position: compare with the one whose descriptor fits best.
      const b = ours.descriptors.subarray(j * 128, (j + 1) * 128);
      let dot = 0, na = 0, nb = 0;
      for (let d = 0; d < 128; d++) { dot += a[d] * b[d]; na += a[d] * a[d]; nb += b[d] * b[d]; }
      const cos = dot / Math.max(1e-9, Math.sqrt(na * nb));
      if (cos > bestCos) { bestCos = cos; best = j; }
    });
    let na = 0;
    for (let d = 0; d < 128; d++) na += a[d] * a[d];
    normSum += Math.sqrt(na);
    if (best < 0) return;
    matched++;
    cosSum += bestCos;
    const b = ours.descriptors.subarray(best * 128, (best + 1) * 128);
    let l2 = 0;
    for (let d = 0; d < 128; d++) l2 += (a[d] - b[d]) ** 2;
    l2Sum += Math.sqrt(l2);
  });
  const n = ref.keypoints.length;
  const near = (k: { x: number; y: number; size: number }) =>
    ref.keypoints.some(([x, y, size]) => Math.hypot(k.x - x, k.y - y) <= maxDistance && Math.abs(k.size - size) <= 0.1 * size);
  const oursMatched = ours.keypoints.filter(near).length;
  return {
    reference: n,
    ours: ours.keypoints.length,
    recall: n ? matched / n : 1,
    precision: ours.keypoints.length ? oursMatched / ours.keypoints.length : 1,
    meanCosine: matched ? cosSum / matched : 0,
    relativeL2: matched ? l2Sum / matched / (normSum / Math.max(1, n)) : 1,
  };
}
