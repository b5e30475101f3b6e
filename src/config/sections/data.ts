import { z } from 'zod';

/** Where images come from, how they are selected and prepared, and how the corpus is split. */
export const dataSection = z.strictObject({
  source: z.enum(['hub', 'coco', 'folder']).default('hub')
    .describe('hub: a Hugging Face Hub dataset; coco: COCO annotations + images; folder: <root>/<class>/<image>'),
  dataset: z.string().min(1).default('frgfm/imagenette')
    .describe('Hub dataset repo id (source=hub), e.g. frgfm/imagenette, zh-plus/tiny-imagenet, ILSVRC/imagenet-1k'),
  hub_config: z.string().min(1).nullable().default('160px')
    .describe('Hub dataset config (subset), e.g. 160px for frgfm/imagenette; null for the default config'),
  hub_split: z.string().min(1).default('train').describe('Hub dataset split to read images from'),
  revision: z.string().min(1).default('main').describe('Hub dataset revision (branch, tag or commit)'),
  root: z.string().min(1).nullable().default(null)
    .describe('Local folder: the ImageFolder root (source=folder) or the COCO root holding annotations/ (source=coco)'),
  coco_split: z.string().min(1).default('val2017')
    .describe('COCO annotation set: reads annotations/instances_<coco_split>.json (+ captions_<coco_split>.json)'),
  num_images: z.number().int().min(2).default(512)
    .describe('Total images in the corpus (indexed + queries)'),
  min_images_per_class: z.number().int().min(1).default(52)
    .describe('Classes with fewer images are dropped; ceil(num_images / this) classes are kept, this many images each'),
  retrieval_fraction: z.number().gt(0).lt(1).default(0.75)
    .describe('Per class, this fraction of images become queries; the first (1 - fraction) are indexed'),
  query_split: z.tuple([z.number().min(0), z.number().min(0), z.number().min(0)]).default([0.8, 0.1, 0.1])
    .describe('Query images split into [train, val, test] fractions (seeded, stratified by class)'),
  id_scheme: z.enum(['clustered', 'random', 'hierarchical', 'semantic']).default('clustered')
    .describe('clustered: consecutive IDs per class; random: IDs shuffled with data.seed; hierarchical: fixed-length codes, leading digit(s) = class (or group of 10 classes), then the image within it, zero-padded; semantic: fixed-length codes from hierarchical k-means over embeddings of the indexed images (DSI semantic IDs): colour/layout/gradient histograms, or data.semantic_embeddings'),
  semantic_k: z.number().int().min(2).max(10).default(10)
    .describe('data.id_scheme=semantic: clusters per level of the hierarchical k-means (one digit per level)'),
  semantic_leaf_size: z.number().int().min(1).default(10)
    .describe('data.id_scheme=semantic: a cluster of at most this many images is a leaf (its images numbered within it)'),
  semantic_embeddings: z.string().min(1).nullable().default(null)
    .describe('data.id_scheme=semantic: a NumPy .npy file (2-D, float16/32/64, one row per image) of embeddings to cluster instead of the built-in histograms, e.g. CLIP or DINO features or `dsi embed` output; its rows are named by data.semantic_names. Relative paths as for data.root'),
  semantic_names: z.string().min(1).nullable().default(null)
    .describe('With data.semantic_embeddings: a text file with one image per line, in the .npy\'s row order: the image\'s path relative to data.root (or any path ending in it, or its file name when unique)'),
  image_size: z.number().int().min(8).max(1024).default(160)
    .describe('Side in pixels of the square images stored in the cache (must be a multiple of model.patch_size)'),
  aspect_tolerance: z.number().min(0).max(1).default(0.1)
    .describe('Square images first, then those with |width/height - 1| <= this; then centre-crop to square'),
  coco_min_captions: z.number().int().min(0).default(5)
    .describe('COCO: images need at least this many captions; 0 for COCO sets without captions_<coco_split>.json (a positive value without that file is an error)'),
  seed: z.number().int().default(42).describe('Seed for ID shuffling and the query split'),
});

export type DataConfig = z.infer<typeof dataSection>;
