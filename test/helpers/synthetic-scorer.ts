/** Synthetic next-token scorers for beam-search tests: log-probabilities as a pure function of (query, prefix). */
import { END, VOCAB_SIZE } from '../../src/data/ids.ts';
import type { NextTokenScorer, ScoreRequest } from '../../src/decode/beam.ts';

/** Deterministic pseudo-random logits for (seed, query, prefix), log-softmaxed. */
export function randomLogProbs(seed: number, query: number, prefix: readonly number[], sharpness = 3): Float32Array {
  let h = (seed * 0x9e3779b1 + query * 0x85ebca6b) >>> 0;
  for (const t of prefix) h = Math.imul(h ^ (t + 17), 0xc2b2ae35) >>> 0;
  const logits = new Float64Array(VOCAB_SIZE);
  for (let t = 0; t < VOCAB_SIZE; t++) {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    h = (h + 0x6d2b79f5) >>> 0;
    logits[t] = (h / 4294967296) * sharpness;
  }
  return logSoftmax(logits);
}

export function logSoftmax(logits: ArrayLike<number>): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - max - Math.log(sum);
  return out;
}

/** A scorer from a per-request function; counts calls and rows so tests can see the batching. */
export function scorerFrom(fn: (r: ScoreRequest) => Float32Array): NextTokenScorer & { calls: number; rows: number } {
  const scorer = Object.assign(
    async (requests: readonly ScoreRequest[]) => {
      scorer.calls++;
      scorer.rows += requests.length;
      const out = new Float32Array(requests.length * VOCAB_SIZE);
      requests.forEach((r, i) => out.set(fn(r), i * VOCAB_SIZE));
      return out;
    },
    { calls: 0, rows: 0 },
  );
  return scorer;
}

/** Log-probability of writing `id` then END under a per-request function (the brute-force oracle). */
export function sequenceScore(fn: (r: ScoreRequest) => Float32Array, query: number, id: number): number {
  const digits = String(id).split('').map(Number);
  let score = 0;
  for (let i = 0; i <= digits.length; i++) {
    const next = i < digits.length ? digits[i] : END;
    score += fn({ query, prefix: digits.slice(0, i) })[next];
  }
  return score;
}

/** Log-probs that put `p` on `token` and spread the rest evenly. */
export function peaked(token: number, p: number): Float32Array {
  const out = new Float32Array(VOCAB_SIZE).fill(Math.log((1 - p) / (VOCAB_SIZE - 1)));
  out[token] = Math.log(p);
  return out;
}
