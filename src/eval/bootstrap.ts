/**
 * Percentile bootstrap for the mean of per-query values: resample queries with replacement,
 * take the 2.5th and 97.5th percentiles of the resampled means. Seeded, so a table is repeatable.
 */
import { Rng } from '../runtime/rng.ts';

export interface Estimate {
  mean: number;
  /** 95% interval; equal to the mean when there were no resamples or only one value. */
  low: number;
  high: number;
  /** Values the mean is over. */
  n: number;
}

export function bootstrapMean(values: readonly number[], resamples: number, seed: number): Estimate {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, low: Number.NaN, high: Number.NaN, n: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (resamples <= 0 || n === 1) return { mean, low: mean, high: mean, n };
  const rng = new Rng(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[rng.int(n)];
    means[r] = sum / n;
  }
  means.sort();
  return { mean, low: percentile(means, 0.025), high: percentile(means, 0.975), n };
}

/** Linear interpolation between the two nearest ranks of an ascending array. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
