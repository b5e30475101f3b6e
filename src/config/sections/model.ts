import { z } from 'zod';

/** The ViT encoder-decoder. Reference values are the defaults. */
export const modelSection = z.strictObject({
  patch_size: z.number().int().min(1).default(16).describe('Side of the square image patches'),
  embed_dim: z.number().int().min(4).default(128).describe('Transformer width'),
  ffn_dim: z.number().int().min(4).default(256).describe('Hidden width of the feed-forward blocks'),
  num_heads: z.number().int().min(1).default(4).describe('Attention heads (must divide embed_dim)'),
  encoder_layers: z.number().int().min(1).default(6).describe('Encoder blocks'),
  decoder_layers: z.number().int().min(1).default(6).describe('Decoder blocks'),
  dropout: z.number().min(0).lt(1).default(0.1).describe('Dropout rate (inputs, attention output, MLP)'),
  positional: z.enum(['sinusoidal', 'learned']).default('sinusoidal').describe('Positional encodings'),
  patch_tokenizer: z
    .enum(['plain', 'shifted'])
    .default('plain')
    .describe(
      'plain: each patch flattened and projected (the reference); shifted: shifted patch tokenization (Lee et al. 2021): the image and four copies shifted by half a patch diagonally, patchified together, LayerNorm, projection',
    ),
  locality_attention: z
    .boolean()
    .default(false)
    .describe('Locality self-attention in the encoder (Lee et al. 2021): a learned softmax temperature per block and no attention of a patch to itself'),
});

export type ModelConfig = z.infer<typeof modelSection>;
