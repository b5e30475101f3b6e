import { z } from 'zod';

/** Beam search over the trie of indexed IDs. */
export const decodeSection = z.strictObject({
  beam_width: z.number().int().min(1).default(100).describe('Beams kept per step (at least the K asked for)'),
  constrained: z.boolean().default(true)
    .describe('Restrict decoding to IDs that exist (trie); false measures how often invalid IDs are written'),
  batch_size: z.number().int().min(1).default(16).describe('Queries decoded together'),
  flip_average: z.boolean().default(false)
    .describe('Test-time augmentation: each query is also read as its mirror image; the ViT averages the two next-token distributions at every beam step, the dense encoder the two embeddings (choose it on val queries, not test)'),
});

export type DecodeConfig = z.infer<typeof decodeSection>;
