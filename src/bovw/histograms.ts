import type { BovwConfig } from '../config/sections/bovw.ts';

/**
 * Bag-of-visual-words vectors: word counts per image, then the configured weighting. Everything is
 * row-major Float32 (images x words) so ranking is one matrix-vector product.
 */

/** RootSIFT (Arandjelovic & Zisserman 2012): L1-normalise, then square root, so L2 compares as Hellinger. */
export function rootSift(descriptors: Float32Array, dim = 128): Float32Array {
  const out = new Float32Array(descriptors.length);
  for (let base = 0; base < descriptors.length; base += dim) {
    let l1 = 0;
    for (let d = 0; d < dim; d++) l1 += Math.abs(descriptors[base + d]);
    const inv = l1 > 0 ? 1 / l1 : 0;
    for (let d = 0; d < dim; d++) out[base + d] = Math.sqrt(Math.abs(descriptors[base + d]) * inv);
  }
  return out;
}

/** Counts of each word among one image's descriptor assignments. */
export function wordCounts(words: ArrayLike<number>, vocabularySize: number): Float32Array {
  const counts = new Float32Array(vocabularySize);
  for (let i = 0; i < words.length; i++) counts[words[i]]++;
  return counts;
}

/**
 * Inverse document frequency over the indexed images: log(N / df); a word in no image gets 0,
 * so it cannot dominate a query that happens to contain it.
 */
export function inverseDocumentFrequency(counts: Float32Array, images: number, vocabularySize: number): Float32Array {
  const df = new Float32Array(vocabularySize);
  for (let r = 0; r < images; r++) {
    const base = r * vocabularySize;
    for (let w = 0; w < vocabularySize; w++) if (counts[base + w] > 0) df[w]++;
  }
  const idf = new Float32Array(vocabularySize);
  for (let w = 0; w < vocabularySize; w++) idf[w] = df[w] > 0 ? Math.log(images / df[w]) : 0;
  return idf;
}

export type Weighting = Pick<BovwConfig, 'weighting' | 'normalization'>;

/**
 * One histogram (in place): tf-idf multiplies counts by idf, then optional L1/L2 normalisation.
 * Cosine ranking is scale-invariant, so normalisation changes stored vectors and scores' scale
 * only where another measure is used; it is kept because the reference's options name it.
 */
export function weightHistogram(histogram: Float32Array, weighting: Weighting, idf: Float32Array | null): Float32Array {
  if (weighting.weighting === 'tfidf') {
    if (!idf) throw new Error('tf-idf weighting needs the idf of the indexed images');
    for (let w = 0; w < histogram.length; w++) histogram[w] *= idf[w];
  }
  if (weighting.normalization !== 'none') {
    let norm = 0;
    for (const v of histogram) norm += weighting.normalization === 'l1' ? Math.abs(v) : v * v;
    if (weighting.normalization === 'l2') norm = Math.sqrt(norm);
    if (norm > 0) for (let w = 0; w < histogram.length; w++) histogram[w] /= norm;
  }
  return histogram;
}

/** Rows scaled to unit L2 norm (all-zero rows stay zero), for cosine similarity as a dot product. */
export function unitRows(matrix: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(matrix.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let norm = 0;
    for (let c = 0; c < cols; c++) norm += matrix[base + c] * matrix[base + c];
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let c = 0; c < cols; c++) out[base + c] = matrix[base + c] * inv;
  }
  return out;
}
