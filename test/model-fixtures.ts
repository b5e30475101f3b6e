/** Shared helpers for the model/engine tests: small configs and real images decoded with sharp. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { modelSection, type ModelConfig } from '../src/config/sections/model.ts';
import { trainSection, type TrainConfig } from '../src/config/sections/train.ts';
import { encodeTarget } from '../src/data/ids.ts';
import type { TrainBatch } from '../src/train/engine/engine.ts';
import { SAMPLE_PHOTOS, sampleClasses } from './helpers/test-data.ts';

export const IMAGENETTE = SAMPLE_PHOTOS;

export function tinyModel(over: Partial<ModelConfig> = {}): ModelConfig {
  return modelSection.parse({ patch_size: 8, embed_dim: 32, ffn_dim: 64, num_heads: 4, encoder_layers: 1, decoder_layers: 1, dropout: 0, ...over });
}

export function trainConfig(over: Partial<TrainConfig> = {}): TrainConfig {
  return trainSection.parse({ learning_rate: 3e-3, workers: 1, seed: 7, ...over });
}

/** `count` real photos (one per class, round robin) as size x size RGB. */
export async function realImages(count: number, size: number): Promise<Uint8Array> {
  const classes = sampleClasses();
  const files: string[] = [];
  for (let i = 0; files.length < count; i++) {
    const dir = join(IMAGENETTE, classes[i % classes.length]);
    files.push(join(dir, readdirSync(dir).sort()[Math.floor(i / classes.length)]));
  }
  const out = new Uint8Array(count * size * size * 3);
  for (let i = 0; i < count; i++) {
    const buf = await sharp(files[i]).resize(size, size, { fit: 'cover' }).removeAlpha().raw().toBuffer();
    out.set(buf, i * size * size * 3);
  }
  return out;
}

/** Indexing batch: image i -> ID ids[i]. */
export function indexingBatch(images: Uint8Array, ids: number[], idLength: number): TrainBatch {
  const len = idLength + 1;
  const targets = new Int32Array(ids.length * len);
  ids.forEach((id, r) => targets.set(encodeTarget(id, idLength), r * len));
  return { images, imageCount: ids.length, targets, targetCount: ids.length, targetImage: Int32Array.from(ids.keys()) };
}

export function randomPixels(count: number, size: number, seed: number): Uint8Array {
  const a = new Uint8Array(count * size * size * 3);
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s >>> 24;
  }
  return a;
}
