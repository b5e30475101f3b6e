/**
 * Builds test/fixtures/coco-mini/, the COCO set the tests use: real val2017 photos from a local
 * COCO copy (default ../shared/data/coco-mini), downscaled so the repo stays small, with their
 * instances and captions entries (segmentations dropped; width, height, area and bbox scaled to
 * the new pixel size so the annotations still describe the files). It keeps every annotated
 * image within `--tolerance` of square (the selectable ones), `--extra` annotated images outside
 * it (selection must skip them by aspect), and `--unannotated` files the JSON does not describe
 * (real COCO copies have such files: they must be counted, not crash the build).
 *
 *   npx tsx scripts/make-coco-fixture.ts [--from DIR] [--max-side 160]
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { PROJECT_ROOT } from '../src/config/load.ts';

const { values } = parseArgs({
  options: {
    from: { type: 'string', default: resolve(PROJECT_ROOT, '..', 'shared', 'data', 'coco-mini') },
    split: { type: 'string', default: 'val2017' },
    'max-side': { type: 'string', default: '160' },
    tolerance: { type: 'string', default: '0.4' },
    extra: { type: 'string', default: '6' },
    unannotated: { type: 'string', default: '8' },
  },
});
const split = values.split!;
const maxSide = Number(values['max-side']);
const out = join(PROJECT_ROOT, 'test', 'fixtures', 'coco-mini');

type CocoImage = { id: number; file_name: string; width: number; height: number; [k: string]: unknown };
type Annotation = { image_id: number; area?: number; bbox?: number[]; segmentation?: unknown; [k: string]: unknown };
const readJson = async (name: string) => JSON.parse(await readFile(join(values.from!, 'annotations', name), 'utf8'));
const instances = await readJson(`instances_${split}.json`);
const captions = await readJson(`captions_${split}.json`);

const nearSquare = (i: CocoImage) => Math.abs(i.width / i.height - 1) <= Number(values.tolerance);
const images: CocoImage[] = [
  ...instances.images.filter(nearSquare),
  ...instances.images.filter((i: CocoImage) => !nearSquare(i)).slice(0, Number(values.extra)),
];
const described = new Set(instances.images.map((i: CocoImage) => i.file_name));
const files = (await readdir(join(values.from!, split))).sort();
const unannotated = files.filter((f) => !described.has(f)).slice(0, Number(values.unannotated));

await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'annotations'), { recursive: true });
await mkdir(join(out, split), { recursive: true });

/** Writes the downscaled JPEG; returns the scale factor applied (new side / old side). */
async function writeSmall(file: string): Promise<{ scale: number; width: number; height: number }> {
  const source = sharp(join(values.from!, split, file)).rotate();
  const meta = await source.metadata();
  const scale = Math.min(1, maxSide / Math.max(meta.width!, meta.height!));
  const width = Math.round(meta.width! * scale);
  const height = Math.round(meta.height! * scale);
  await writeFile(join(out, split, file), await source.resize(width, height).jpeg({ quality: 80 }).toBuffer());
  return { scale, width, height };
}

const scales = new Map<number, number>();
for (const image of images) {
  const { scale, width, height } = await writeSmall(image.file_name);
  scales.set(image.id, scale);
  Object.assign(image, { width, height });
  delete image.coco_url; // the tests serve their own URLs
  delete image.flickr_url;
}
for (const file of unannotated) await writeSmall(file);

const kept = new Set(images.map((i) => i.id));
const annotations = (instances.annotations as Annotation[])
  .filter((a) => kept.has(a.image_id))
  .map(({ segmentation: _dropped, ...a }) => {
    const s = scales.get(a.image_id)!;
    return { ...a, area: (a.area ?? 0) * s * s, bbox: a.bbox?.map((v) => v * s) };
  });
const note = `Test fixture made by scripts/make-coco-fixture.ts from COCO 2017 ${split} (downscaled to ${maxSide} px).`;
await writeFile(
  join(out, 'annotations', `instances_${split}.json`),
  JSON.stringify({ info: { description: note }, licenses: instances.licenses, images, annotations, categories: instances.categories }),
);
await writeFile(
  join(out, 'annotations', `captions_${split}.json`),
  JSON.stringify({
    info: { description: note },
    licenses: captions.licenses,
    images,
    annotations: captions.annotations.filter((a: Annotation) => kept.has(a.image_id)),
  }),
);
await writeFile(
  join(out, 'README.md'),
  `# COCO test fixture\n\n${note}\n\n- ${images.length} annotated photos (${images.filter(nearSquare).length} within aspect tolerance ${values.tolerance} of square),\n  with their instances and captions entries (segmentations dropped, geometry scaled to the files).\n- ${unannotated.length} photos the annotation files do not describe (a real-world inconsistency the\n  COCO source must count, not crash on).\n\nCOCO images are under the COCO terms of use (Creative Commons licences per image, listed in the JSON).\n`,
);
console.log(`${images.length} annotated + ${unannotated.length} unannotated photos -> ${out}`);
