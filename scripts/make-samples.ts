/**
 * Builds data/samples/, the embedded default dataset: the first 40 images (name order) of each
 * of the 10 Imagenette classes in ../shared/data/imagenette-224/train, resized to 64x64 and
 * stored as JPEG (quality 85) in data/samples/<wnid>/. About 1 MB in all.
 *
 *   npx tsx scripts/make-samples.ts [--from DIR] [--per-class 40] [--size 64]
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { PROJECT_ROOT } from '../src/config/load.ts';

const { values } = parseArgs({
  options: {
    from: { type: 'string', default: resolve(PROJECT_ROOT, '..', 'shared', 'data', 'imagenette-224', 'train') },
    'per-class': { type: 'string', default: '40' },
    size: { type: 'string', default: '64' },
  },
});
const perClass = Number(values['per-class']);
const size = Number(values.size);
const out = join(PROJECT_ROOT, 'data', 'samples');

const classes = (await readdir(values.from, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
let bytes = 0;
for (const wnid of classes) {
  const dir = join(out, wnid);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const files = (await readdir(join(values.from, wnid))).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  let written = 0;
  for (const file of files) {
    if (written === perClass) break;
    try {
      // toColourspace: the few greyscale originals become RGB, so every sample decodes alike.
      const jpeg = await sharp(join(values.from, wnid, file))
        .rotate()
        .toColourspace('srgb')
        .resize(size, size, { fit: 'cover' })
        .jpeg({ quality: 85, mozjpeg: true })
        .toBuffer();
      await writeFile(join(dir, `${basename(file, extname(file))}.jpg`), jpeg);
      bytes += jpeg.length;
      written++;
    } catch (err) {
      console.warn(`skipped ${wnid}/${file}: ${(err as Error).message}`);
    }
  }
  if (written < perClass) throw new Error(`${wnid}: only ${written} of ${perClass} images could be converted`);
}
console.log(`${classes.length} classes x ${perClass} images of ${size}px -> ${out} (${(bytes / 1e6).toFixed(2)} MB)`);
