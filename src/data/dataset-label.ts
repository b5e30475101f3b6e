import { basename, dirname } from 'node:path';

const GENERIC_SPLIT_NAMES = new Set(['train', 'val', 'valid', 'validation', 'test', 'images', 'data']);

/** The data-config keys a label is made from; loose, so a config read back from a run's YAML fits too. */
export interface DatasetFields {
  source?: unknown;
  root?: unknown;
  dataset?: unknown;
}

/** A short dataset label for reports, tags and groups: imagenette, tiny-imagenet, coco, <folder name>. */
export function datasetLabel(data: DatasetFields): string {
  if (data.source === 'coco') return 'coco';
  if (data.source === 'folder' && typeof data.root === 'string') {
    // ".../imagenette-224/train" says more as "imagenette-224-train" than as "train".
    const name = basename(data.root);
    return GENERIC_SPLIT_NAMES.has(name.toLowerCase()) ? `${basename(dirname(data.root))}-${name}` : name;
  }
  const repo = String(data.dataset ?? 'unknown');
  return repo.split('/').pop() || repo;
}
