import { z } from 'zod';

/** Metrics and protocols. The reference protocol samples map_n / recall_n test queries. */
export const evalSection = z.strictObject({
  ia_k: z.array(z.number().int().min(1)).min(1).default([1, 5]).describe('K values for indexing accuracy IA@K'),
  map_k: z.number().int().min(1).default(10).describe('K of MAP@K and P@K'),
  map_n: z.number().int().min(1).default(10).describe('Reference protocol: test queries sampled for "MAP@10"'),
  recall_k: z.number().int().min(1).default(100).describe('K of Recall@K'),
  recall_n: z.number().int().min(1).default(10).describe('Reference protocol: test queries sampled for Recall@100'),
  bootstrap: z.number().int().min(0).default(1000).describe('Bootstrap resamples for 95% confidence intervals'),
  protocol: z.enum(['reference', 'full', 'both']).default('both').describe('Which metric protocol to report'),
  seed: z.number().int().default(42).describe('Seed for query sampling and bootstrap'),
});

export type EvalConfig = z.infer<typeof evalSection>;
