/**
 * Fixtures for the trainer and checkpoint tests: a tiny Corpus built directly from real Imagenette
 * photos (decoded with sharp), a tiny model config, and temp folders for checkpoints/experiments.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { validateConfig } from '../src/config/load.ts';
import type { DsiConfig } from '../src/config/schema.ts';
import { idLengthFor } from '../src/data/ids.ts';
import type { Corpus, ImageRecord } from '../src/data/types.ts';
import type { EpochMetrics } from '../src/track/types.ts';
import { createTracker } from '../src/track/tracker.ts';
import { trainRun, type TrainRunOptions } from '../src/train/train.ts';
import { SAMPLE_PHOTOS, sampleClasses } from './helpers/test-data.ts';

export const IMAGENETTE = SAMPLE_PHOTOS;
export const IMAGE_SIZE = 32;

/**
 * `classes` classes x 6 real photos each: per class the first 3 are indexed (IDs grouped by
 * class), then one train, one val and one test query, each relevant to its class's 3 IDs.
 * With 4 classes that is 12 indexed images, so IDs have 2 digits.
 */
export async function tinyCorpus(classes = 4, hash = 'tinycorpus0001'): Promise<Corpus> {
  const perClass = 6;
  const names = sampleClasses().slice(0, classes);
  const bytes = IMAGE_SIZE * IMAGE_SIZE * 3;
  const pixels = new Uint8Array(classes * perClass * bytes);
  const records: ImageRecord[] = [];
  const indexedRows: number[] = [];
  const roles = ['indexed', 'indexed', 'indexed', 'train', 'val', 'test'] as const;
  for (let c = 0; c < classes; c++) {
    const files = readdirSync(join(IMAGENETTE, names[c])).sort().slice(0, perClass);
    const ids: number[] = [];
    for (let i = 0; i < perClass; i++) {
      const row = c * perClass + i;
      const source = join(IMAGENETTE, names[c], files[i]);
      const raw = await sharp(readFileSync(source)).resize(IMAGE_SIZE, IMAGE_SIZE, { fit: 'cover' }).removeAlpha().raw().toBuffer();
      pixels.set(raw, row * bytes);
      const role = roles[i];
      let id: number | null = null;
      if (role === 'indexed') {
        id = indexedRows.length;
        indexedRows.push(row);
        ids.push(id);
      }
      records.push({ row, source, classes: [names[c]], captions: [], role, id, relevantIds: role === 'indexed' ? [] : [...ids] });
    }
  }
  return {
    hash,
    imageSize: IMAGE_SIZE,
    pixels,
    records,
    classNames: names,
    skipped: [],
    indexedRows,
    idLength: idLengthFor(indexedRows.length),
    cachePath: '(in memory)',
  };
}

/** A tiny model and short schedules; `overrides` are `section.key=value` strings. */
export function tinyConfig(overrides: Record<string, unknown> = {}): DsiConfig {
  const raw: Record<string, Record<string, unknown>> = {
    data: { image_size: IMAGE_SIZE, source: 'folder', root: IMAGENETTE },
    model: { patch_size: 8, embed_dim: 32, ffn_dim: 64, num_heads: 4, encoder_layers: 1, decoder_layers: 1, dropout: 0.1 },
    train: { batch_size: 5, learning_rate: 3e-3, indexing_epochs: 3, retrieval_epochs: 2, workers: 1, seed: 11, max_targets_per_query: 2, early_stop_accuracy: 1, early_stop_patience: 5 },
    tracking: { wandb: 'disabled' },
  };
  for (const [key, value] of Object.entries(overrides)) {
    const [section, name] = key.split('.');
    (raw[section] ??= {})[name] = value;
  }
  return validateConfig(raw);
}

export function tempDir(prefix: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `dsi-${prefix}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export function readMetricsFile(experimentsDir: string, run: string): EpochMetrics[] {
  return readFileSync(join(experimentsDir, run, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as EpochMetrics);
}

/**
 * `run(name, config, extra)`: trainRun on a corpus and backend that a `before` hook sets (hence
 * the getters), quiet, with checkpoints/ and experiments/ under `root`.
 */
export function quietTrainRunner(root: string, corpus: () => Corpus, backend: () => string) {
  return (name: string, config: DsiConfig, extra: Partial<TrainRunOptions> = {}) =>
    trainRun({
      config,
      corpus: corpus(),
      runName: name,
      backend: backend(),
      tracker: createTracker(name, join(root, 'experiments'), { warn: () => {} }),
      checkpointsDir: join(root, 'checkpoints'),
      log: () => {},
      ...extra,
    });
}
