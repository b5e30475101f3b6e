/**
 * Query sets for evaluation: rows of the corpus (its test split, or every query), or an
 * ImageFolder of images the model has never seen (`--queries DIR`), decoded with the corpus's
 * own image pipeline so they look exactly like corpus images.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { decodeToSquareRgb, ImageRejected } from '../data/images.ts';
import { IMAGE_EXTENSIONS } from '../data/sources/folder.ts';
import type { Corpus, ImageRecord } from '../data/types.ts';
import { UserError } from '../runtime/errors.ts';
import { Rng } from '../runtime/rng.ts';

export interface QuerySet {
  /** What the queries are, for the report. */
  source: string;
  /** count x S x S x 3 RGB. */
  pixels: Uint8Array;
  count: number;
  imageSize: number;
  /** How each query is named in the JSON (corpus row or file path). */
  keys: string[];
  /** Relevant indexed IDs per query (ascending). */
  relevant: number[][];
  /** Class names per query, when known. */
  classes: string[][];
  /** Files that could not be decoded (listed, not fatal). */
  skipped: { source: string; reason: string }[];
  /** `--queries DIR`: images of DIR left out because they are in the corpus (same file or same pixels). */
  inCorpus?: number;
}

export interface FolderQueryOptions {
  /** At most this many out-of-corpus images per class, drawn with `seed` (default: all). */
  perClass?: number;
  seed?: number;
}

/** Queries from corpus rows (e.g. the test split, or all train + val + test queries). */
export function corpusQueries(corpus: Corpus, records: readonly ImageRecord[], source: string): QuerySet {
  const per = corpus.imageSize * corpus.imageSize * 3;
  const pixels = new Uint8Array(records.length * per);
  records.forEach((r, i) => pixels.set(corpus.pixels.subarray(r.row * per, (r.row + 1) * per), i * per));
  return {
    source,
    pixels,
    count: records.length,
    imageSize: corpus.imageSize,
    keys: records.map((r) => `row:${r.row}`),
    relevant: records.map((r) => [...r.relevantIds]),
    classes: records.map((r) => r.classes),
    skipped: [],
  };
}

/** Every indexed image as a query for its own ID (indexing accuracy). */
export function indexedQueries(corpus: Corpus): QuerySet {
  const records = corpus.indexedRows.map((row) => corpus.records[row]);
  const set = corpusQueries(corpus, records, 'indexed images');
  set.relevant = records.map((r) => [r.id!]);
  return set;
}

/** Indexed IDs whose image carries `className` (ImageNet: its class; COCO: any of its categories). */
export function idsOfClass(corpus: Corpus, className: string): number[] {
  const ids: number[] = [];
  corpus.indexedRows.forEach((row, id) => {
    if (corpus.records[row].classes.includes(className)) ids.push(id);
  });
  return ids;
}

/**
 * `DIR/<class>/<image>` as queries: classes are matched to the corpus's by folder name and the
 * relevant images are the indexed images of that class. Folders naming no corpus class are
 * reported; unreadable images are skipped and counted.
 *
 * The set is out-of-corpus by construction: an image that is in the corpus (indexed, or a query of
 * any split) is left out and counted, found by its file path or, for a copy elsewhere or a Hub
 * corpus, by its decoded pixels. So `--queries` may name the very folder the corpus was drawn from
 * (the rest of Imagenette's train split becomes a second test set). With `perClass`, each class's
 * files are shuffled with `seed` and decoded until that many out-of-corpus images are kept.
 */
export async function folderQueries(dir: string, corpus: Corpus, opts: FolderQueryOptions = {}): Promise<{ set: QuerySet; unknownClasses: string[] }> {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new UserError(`--queries ${dir}: no such folder (expected DIR/<class>/<image>.jpg)`);
  const byClass = new Map<string, string[]>();
  const unknownClasses: string[] = [];
  for (const entry of (await readdir(root, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    if (!corpus.classNames.includes(entry.name)) {
      unknownClasses.push(entry.name);
      continue;
    }
    const names = (await readdir(join(root, entry.name))).filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort();
    byClass.set(entry.name, names.map((n) => join(root, entry.name, n)));
  }
  if ([...byClass.values()].every((files) => files.length === 0)) {
    throw new UserError(
      `--queries ${dir}: no images in folders named after the corpus's classes` +
        ` (${corpus.classNames.slice(0, 5).join(', ')}${corpus.classNames.length > 5 ? ', ...' : ''})` +
        (unknownClasses.length ? `; found only ${unknownClasses.slice(0, 5).join(', ')}` : ''),
    );
  }
  if (opts.perClass !== undefined && (!Number.isInteger(opts.perClass) || opts.perClass < 1)) {
    throw new UserError(`--queries-per-class ${opts.perClass}: expected a whole number of at least 1`);
  }
  const corpusFiles = new Set(corpus.records.map((r) => resolve(r.source)));
  const corpusPixels = new Set(corpus.records.map((r) => pixelDigest(rowPixels(corpus, r.row))));
  const rng = new Rng(opts.seed ?? 0);
  const kept: { path: string; className: string; pixels: Uint8Array }[] = [];
  const skipped: QuerySet['skipped'] = [];
  let inCorpus = 0;
  for (const [className, files] of byClass) {
    const order = opts.perClass === undefined ? files : rng.shuffle([...files]);
    let keptOfClass = 0;
    for (const path of order) {
      if (opts.perClass !== undefined && keptOfClass >= opts.perClass) break;
      if (corpusFiles.has(path)) {
        inCorpus++;
        continue;
      }
      const decoded = await decodeFiles([path], corpus.imageSize);
      const pixels = decoded.images[0];
      if (pixels === null) {
        skipped.push(...decoded.skipped);
        continue;
      }
      if (corpusPixels.has(pixelDigest(pixels))) {
        inCorpus++;
        continue;
      }
      kept.push({ path, className, pixels });
      keptOfClass++;
    }
  }
  if (kept.length === 0 && inCorpus > 0) {
    throw new UserError(`--queries ${dir}: all ${inCorpus} images of the corpus's classes there are in the corpus; out-of-corpus queries need images the corpus does not hold`);
  }
  const set: QuerySet = {
    source: `folder ${root}` + (opts.perClass !== undefined ? ` (at most ${opts.perClass} per class, seed ${opts.seed ?? 0})` : ''),
    pixels: concat(kept.map((k) => k.pixels), corpus.imageSize),
    count: kept.length,
    imageSize: corpus.imageSize,
    keys: kept.map((k) => k.path),
    relevant: kept.map((k) => idsOfClass(corpus, k.className)),
    classes: kept.map((k) => [k.className]),
    skipped,
    inCorpus,
  };
  return { set, unknownClasses };
}

function rowPixels(corpus: Corpus, row: number): Uint8Array {
  const per = corpus.imageSize * corpus.imageSize * 3;
  return corpus.pixels.subarray(row * per, (row + 1) * per);
}

function pixelDigest(pixels: Uint8Array): string {
  return createHash('sha1').update(pixels).digest('hex');
}

/** Image files (e.g. `dsi search` arguments) decoded like corpus images; the class is guessed from the parent folder. */
export async function fileQueries(paths: readonly string[], corpus: Corpus): Promise<QuerySet> {
  for (const p of paths) {
    if (!existsSync(p)) throw new UserError(`image ${p} does not exist`);
    // Refuse before reading: /dev/zero or a FIFO would be read without end.
    const s = statSync(p);
    if (s.isDirectory()) throw new UserError(`${p} is a folder, not an image: name image files (e.g. ${join(p, '*.jpg')}), or use \`dsi eval --queries ${p}\` for a <class>/<image> folder`);
    if (!s.isFile()) throw new UserError(`${p} is not a regular file (a device, pipe or socket): name image files`);
  }
  const decoded = await decodeFiles(paths, corpus.imageSize);
  const kept = paths.filter((_, i) => decoded.images[i] !== null);
  const classOf = (p: string) => {
    const folder = basename(dirname(resolve(p)));
    return corpus.classNames.includes(folder) ? [folder] : [];
  };
  return {
    source: 'files',
    pixels: concat(decoded.images.filter((x): x is Uint8Array => x !== null), corpus.imageSize),
    count: kept.length,
    imageSize: corpus.imageSize,
    keys: kept.map((p) => p),
    relevant: kept.map((p) => classOf(p).flatMap((c) => idsOfClass(corpus, c))),
    classes: kept.map(classOf),
    skipped: decoded.skipped,
  };
}

async function decodeFiles(paths: readonly string[], size: number) {
  const images: (Uint8Array | null)[] = [];
  const skipped: { source: string; reason: string }[] = [];
  for (const path of paths) {
    try {
      images.push(await decodeToSquareRgb(new Uint8Array(await readFile(path)), { size }));
    } catch (e) {
      if (!(e instanceof ImageRejected) && (e as NodeJS.ErrnoException).code !== 'EISDIR') throw e;
      images.push(null);
      skipped.push({ source: path, reason: (e as Error).message });
    }
  }
  return { images, skipped };
}

function concat(images: Uint8Array[], size: number): Uint8Array {
  const per = size * size * 3;
  const out = new Uint8Array(images.length * per);
  images.forEach((img, i) => out.set(img, i * per));
  return out;
}
