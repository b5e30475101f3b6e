/**
 * Semantic IDs (DSI, Tay et al. 2022, section 3.2): hierarchical k-means over image embeddings.
 * The indexed images are split into at most k clusters, each cluster again until a cluster holds
 * at most `leafSize` images; an image's code is the path of cluster digits, then its position in
 * its leaf. Codes are padded to one length (a leaf above the deepest level writes zeros for the
 * levels it lacks: nothing lies below a leaf, so the code stays unique), so beam search sees
 * siblings under one prefix: similar images share their leading digits.
 *
 * The embedding is cheap and deterministic (no model needed before training): a colour histogram,
 * a coarse colour layout and a gradient-orientation histogram of each image, each block L2-normalised.
 */
import { kmeans } from '../cluster/kmeans.ts';
import { assignNearest } from '../cluster/assign.ts';
import { paddedWidth, zeroPad } from './ids.ts';

export interface SemanticIdOptions {
  /** Clusters per level (2..10: one digit per level). */
  k: number;
  /** Largest leaf. */
  leafSize: number;
  seed: number;
}

const COLOUR_BINS = 4; // per channel: 64 joint bins
const LAYOUT_GRID = 4; // 4x4 cells x mean RGB
const ORIENTATION_BINS = 8;
const ORIENTATION_GRID = 2;
export const EMBEDDING_DIM = COLOUR_BINS ** 3 + LAYOUT_GRID * LAYOUT_GRID * 3 + ORIENTATION_GRID * ORIENTATION_GRID * ORIENTATION_BINS;

/** Embedding of one S x S x 3 uint8 image (EMBEDDING_DIM values). */
export function imageEmbedding(pixels: Uint8Array, size: number): Float32Array {
  const colour = new Float32Array(COLOUR_BINS ** 3);
  const layout = new Float32Array(LAYOUT_GRID * LAYOUT_GRID * 3);
  const orient = new Float32Array(ORIENTATION_GRID * ORIENTATION_GRID * ORIENTATION_BINS);
  const grey = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const p = (y * size + x) * 3;
      const r = pixels[p], g = pixels[p + 1], b = pixels[p + 2];
      const bin = ((r * COLOUR_BINS) >> 8) * COLOUR_BINS * COLOUR_BINS + ((g * COLOUR_BINS) >> 8) * COLOUR_BINS + ((b * COLOUR_BINS) >> 8);
      colour[bin]++;
      const cell = (Math.floor((y * LAYOUT_GRID) / size) * LAYOUT_GRID + Math.floor((x * LAYOUT_GRID) / size)) * 3;
      layout[cell] += r;
      layout[cell + 1] += g;
      layout[cell + 2] += b;
      grey[y * size + x] = 0.299 * r + 0.587 * g + 0.114 * b;
    }
  }
  for (let y = 1; y < size - 1; y++) {
    for (let x = 1; x < size - 1; x++) {
      const dx = grey[y * size + x + 1] - grey[y * size + x - 1];
      const dy = grey[(y + 1) * size + x] - grey[(y - 1) * size + x];
      const magnitude = Math.hypot(dx, dy);
      if (magnitude === 0) continue;
      // Unsigned orientation in [0, pi).
      let angle = Math.atan2(dy, dx);
      if (angle < 0) angle += Math.PI;
      const o = Math.min(ORIENTATION_BINS - 1, Math.floor((angle / Math.PI) * ORIENTATION_BINS));
      const cell = Math.floor((y * ORIENTATION_GRID) / size) * ORIENTATION_GRID + Math.floor((x * ORIENTATION_GRID) / size);
      orient[cell * ORIENTATION_BINS + o] += magnitude;
    }
  }
  const out = new Float32Array(EMBEDDING_DIM);
  let offset = 0;
  for (const block of [colour, layout, orient]) {
    let norm = 0;
    for (const v of block) norm += v * v;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < block.length; i++) out[offset + i] = block[i] / norm;
    offset += block.length;
  }
  return out;
}

interface Leaf {
  path: number[];
  members: number[];
}

/**
 * Codes for `n` points (n x dim embeddings): `codes[i]` of point i, all of one length. Leaves never
 * hold more than `leafSize` points.
 */
export function semanticCodes(embeddings: Float32Array, n: number, dim: number, opts: SemanticIdOptions): string[] {
  if (!(opts.k >= 2 && opts.k <= 10)) throw new Error(`semantic IDs: k=${opts.k} must be 2..10 (one digit per level)`);
  if (!(opts.leafSize >= 1)) throw new Error(`semantic IDs: leaf size ${opts.leafSize} must be >= 1`);
  const leaves: Leaf[] = [];
  const split = (members: number[], path: number[]) => {
    if (members.length <= opts.leafSize) {
      leaves.push({ path, members });
      return;
    }
    splitCluster(embeddings, dim, members, opts.k, opts.seed + 7919 * path.length + path.reduce((a, d) => a * 11 + d + 1, 0))
      .forEach((group, digit) => split(group, [...path, digit]));
  };
  split(Array.from({ length: n }, (_, i) => i), []);
  const depth = Math.max(...leaves.map((l) => l.path.length));
  const width = paddedWidth(Math.max(...leaves.map((l) => l.members.length)));
  const codes = new Array<string>(n);
  for (const leaf of leaves) {
    const prefix = leaf.path.join('') + '0'.repeat(depth - leaf.path.length);
    leaf.members.forEach((point, pos) => (codes[point] = prefix + zeroPad(pos, width)));
  }
  return codes;
}

/**
 * One k-means split of `members` into at most k non-empty groups (members keep their order). When
 * k-means cannot separate them (identical embeddings), they are cut into k consecutive runs, so
 * the recursion always shrinks.
 */
function splitCluster(embeddings: Float32Array, dim: number, members: number[], k: number, seed: number): number[][] {
  const n = members.length;
  const points = new Float32Array(n * dim);
  members.forEach((m, i) => points.set(embeddings.subarray(m * dim, (m + 1) * dim), i * dim));
  const kk = Math.min(k, n);
  const { centroids } = kmeans(points, n, dim, kk, { maxIterations: 50, seed: seed >>> 0 });
  const { nearest } = assignNearest(points, n, centroids, kk, dim);
  const groups: number[][] = Array.from({ length: kk }, () => []);
  members.forEach((m, i) => groups[nearest[i]].push(m));
  const nonEmpty = groups.filter((g) => g.length > 0);
  if (nonEmpty.length > 1) return nonEmpty;
  const per = Math.ceil(n / kk);
  return Array.from({ length: Math.ceil(n / per) }, (_, g) => members.slice(g * per, (g + 1) * per));
}
