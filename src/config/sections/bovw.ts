import { z } from 'zod';

/** The SIFT + k-means Bag-of-Visual-Words baseline. Defaults follow the reference (raw counts, cosine). */
export const bovwSection = z.strictObject({
  clusters: z.number().int().min(2).default(200).describe('Visual words (k-means K)'),
  max_descriptors: z.number().int().min(100).default(100000)
    .describe('Descriptors sampled (seeded) from the indexed images for k-means'),
  kmeans_iterations: z.number().int().min(1).default(100).describe('Max k-means (Lloyd) iterations; stops earlier once no centroid moves more than 1e-4 of the mean squared descriptor norm'),
  weighting: z.enum(['raw', 'tfidf']).default('raw').describe('Histogram weighting: raw visual-word counts (the reference) or tf-idf (counts x log(N/df) over the indexed images)'),
  normalization: z.enum(['none', 'l1', 'l2']).default('none').describe('Histogram normalisation (l1/l2). Cosine ranking is scale-invariant, so this does not change rankings or scores; tfidf does'),
  root_sift: z.boolean().default(false).describe('RootSIFT (Hellinger) descriptors: L1-normalise then square-root each SIFT descriptor before k-means and assignment'),
  seed: z.number().int().default(42).describe('Seed for descriptor sampling and k-means++'),
});

export type BovwConfig = z.infer<typeof bovwSection>;
