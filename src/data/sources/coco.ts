import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { DataConfig } from '../../config/sections/data.ts';
import { UserError } from '../../runtime/errors.ts';
import { downloadFile } from '../download.ts';
import type { SkippedFile } from '../types.ts';
import { IMAGE_EXTENSIONS } from './folder.ts';
import { resolveDataRoot } from './root.ts';
import type { ImageSource, SourceItem } from './types.ts';

/**
 * MS COCO: `<root>/annotations/instances_<split>.json` (+ `captions_<split>.json` when present).
 * Images from `<root>/<split>/<file_name>`, or downloaded once by `coco_url` into
 * `<cacheDir>/coco-images/<split>/`. An image's classes are its object categories ordered by
 * total annotated area (largest first), as in the reference.
 */

interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
  coco_url?: string;
}
interface CocoInstances {
  images: CocoImage[];
  annotations: { image_id: number; category_id: number; area: number }[];
  categories: { id: number; name: string }[];
}
interface CocoCaptions {
  annotations: { image_id: number; caption: string }[];
}

export async function openCocoSource(data: DataConfig, opts: { cacheDir: string }): Promise<ImageSource> {
  const root = resolveDataRoot(data.root, 'coco');
  const split = data.coco_split;
  const instancesPath = join(root, 'annotations', `instances_${split}.json`);
  const captionsPath = join(root, 'annotations', `captions_${split}.json`);
  if (!existsSync(instancesPath)) {
    throw new UserError(`COCO annotations not found: ${instancesPath} (data.root=${data.root}, data.coco_split=${split})`);
  }
  const digest = createHash('sha256');
  const instances = await readJson<CocoInstances>(instancesPath, digest);
  if (!Array.isArray(instances.images) || !Array.isArray(instances.annotations) || !Array.isArray(instances.categories)) {
    throw new UserError(`${instancesPath} is not a COCO instances file (needs images, annotations and categories lists)`);
  }
  const hasCaptions = existsSync(captionsPath);
  if (!hasCaptions && data.coco_min_captions > 0) {
    throw new UserError(
      `data.coco_min_captions=${data.coco_min_captions} but ${captionsPath} does not exist; ` +
        'set --set data.coco_min_captions=0 to use a COCO set without captions',
    );
  }
  const captions = hasCaptions ? captionsByImage(await readJson<CocoCaptions>(captionsPath, digest), captionsPath) : new Map();
  const classesOf = classesByImage(instances);

  const imageDir = join(root, split);
  const onDisk = new Set(existsSync(imageDir) ? await readdir(imageDir) : []);
  const downloadDir = join(opts.cacheDir, 'coco-images', split);
  const items: SourceItem[] = [];
  const skipped: SkippedFile[] = [];
  const annotated = new Set<string>();
  for (const img of instances.images) {
    if (!img || typeof img.file_name !== 'string' || !(img.width > 0) || !(img.height > 0)) {
      skipped.push({ source: `${instancesPath}#image ${img?.id}`, reason: 'images entry without file_name, width or height' });
      continue;
    }
    annotated.add(img.file_name);
    const imageCaptions: string[] = captions.get(img.id) ?? [];
    const classes = classesOf.get(img.id) ?? [];
    if (classes.length === 0) {
      skipped.push({ source: img.file_name, reason: 'no object annotations' });
      continue;
    }
    if (hasCaptions && imageCaptions.length < data.coco_min_captions) {
      skipped.push({ source: img.file_name, reason: `${imageCaptions.length} captions (< data.coco_min_captions=${data.coco_min_captions})` });
      continue;
    }
    const local = onDisk.has(img.file_name) ? join(imageDir, img.file_name) : null;
    if (!local && !img.coco_url) {
      skipped.push({ source: img.file_name, reason: `not in ${imageDir} and no coco_url to download it from` });
      continue;
    }
    digest.update(`${img.file_name}\t${local ? 'local' : 'url'}\n`);
    items.push({
      source: img.file_name,
      classes,
      captions: imageCaptions,
      width: img.width,
      height: img.height,
      read: local ? () => readFile(local) : () => readDownloaded(img.coco_url!, join(downloadDir, img.file_name)),
    });
  }
  // Photos in the image folder that the annotations do not describe (coco-mini/val2017 has 80).
  for (const name of [...onDisk].sort()) {
    if (!annotated.has(name) && IMAGE_EXTENSIONS.has(extname(name).toLowerCase())) {
      skipped.push({ source: join(imageDir, name), reason: `no entry in instances_${split}.json` });
    }
  }
  return {
    identity: `coco:${root}/${split}#${digest.digest('hex').slice(0, 16)}`,
    items,
    skipped,
    aspectSelection: true,
    multiLabel: true,
  };
}

/** Downloaded once: `downloadFile` renames into place only when complete, so existence means done. */
async function readDownloaded(url: string, dest: string): Promise<Uint8Array> {
  if (!existsSync(dest)) await downloadFile(url, dest, { label: url.split('/').pop() });
  return readFile(dest);
}

async function readJson<T>(path: string, digest: ReturnType<typeof createHash>): Promise<T> {
  const bytes = await readFile(path);
  digest.update(bytes);
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (err) {
    throw new UserError(`${path} is not valid JSON (${(err as Error).message})`);
  }
}

/** Captions trimmed; one-character "captions" dropped, as the reference does. */
function captionsByImage(file: CocoCaptions, path: string): Map<number, string[]> {
  if (!Array.isArray(file.annotations)) throw new UserError(`${path} is not a COCO captions file (no annotations list)`);
  const out = new Map<number, string[]>();
  for (const a of file.annotations) {
    const text = typeof a.caption === 'string' ? a.caption.trim() : '';
    if (text.length <= 1) continue;
    const list = out.get(a.image_id) ?? [];
    list.push(text);
    out.set(a.image_id, list);
  }
  return out;
}

/** Per image: category names by total annotated area, largest first (ties: first annotated first). */
export function classesByImage(instances: CocoInstances): Map<number, string[]> {
  const names = new Map(instances.categories.map((c) => [c.id, c.name]));
  const areas = new Map<number, Map<string, number>>();
  for (const a of instances.annotations) {
    const name = names.get(a.category_id);
    if (name === undefined) continue;
    const perImage = areas.get(a.image_id) ?? new Map<string, number>();
    perImage.set(name, (perImage.get(name) ?? 0) + (Number(a.area) || 0));
    areas.set(a.image_id, perImage);
  }
  const out = new Map<number, string[]>();
  for (const [imageId, perImage] of areas) {
    out.set(imageId, [...perImage.entries()].sort((x, y) => y[1] - x[1]).map(([name]) => name));
  }
  return out;
}
