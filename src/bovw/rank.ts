import type { RankedList } from '../types.ts';

/**
 * Cosine ranking: `unitDatabase` holds one unit-L2 row per indexed image (row = DSI ID), so the
 * scores of a query are one matrix-vector product with the unit query vector. An empty query
 * (no keypoints) scores 0 against everything; ties keep ascending ID order.
 */
export function rankByCosine(unitDatabase: Float32Array, images: number, words: number, query: Float32Array, k: number): RankedList {
  let norm = 0;
  for (const v of query) norm += v * v;
  const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  const scores = new Float32Array(images);
  for (let r = 0; r < images; r++) {
    const base = r * words;
    let dot = 0;
    for (let w = 0; w < words; w++) dot += unitDatabase[base + w] * query[w];
    scores[r] = dot * inv;
  }
  return topK(scores, k);
}

/** The k best (highest score) indices with their scores; stable for equal scores. */
export function topK(scores: Float32Array, k: number): RankedList {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  const ids = order.slice(0, Math.max(0, Math.min(k, scores.length)));
  return { ids, scores: ids.map((i) => scores[i]) };
}
