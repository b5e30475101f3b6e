/**
 * Query sets for evaluation: rows of the corpus (its test split, or every query), or an
 * ImageFolder of images the model has never seen (`--queries DIR`), decoded with the corpus's
 * own image pipeline so they look exactly like corpus images.
 */
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { decodeToSquareRgb, ImageRejected } from '../data/images.ts';
import { IMAGE_EXTENSIONS } from '../data/sources/folder.ts';
import type { Corpus, ImageRecord } from '../data/types.ts';
import { UserError } from '../runtime/errors.ts';

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
 */
export async function folderQueries(dir: string, corpus: Corpus): Promise<{ set: QuerySet; unknownClasses: string[] }> {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new UserError(`--queries ${dir}: no such folder (expected DIR/<class>/<image>.jpg)`);
  const files: { path: string; className: string }[] = [];
  const unknownClasses: string[] = [];
  for (const entry of (await readdir(root, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    if (!corpus.classNames.includes(entry.name)) {
      unknownClasses.push(entry.name);
      continue;
    }
    const names = (await readdir(join(root, entry.name))).filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort();
    for (const n of names) files.push({ path: join(root, entry.name, n), className: entry.name });
  }
  if (files.length === 0) {
    throw new UserError(
      `--queries ${dir}: no images in folders named after the corpus's classes` +
        ` (${corpus.classNames.slice(0, 5).join(', ')}${corpus.classNames.length > 5 ? ', ...' : ''})` +
        (unknownClasses.length ? `; found only ${unknownClasses.slice(0, 5).join(', ')}` : ''),
    );
  }
  const decoded = await decodeFiles(files.map((f) => f.path), corpus.imageSize);
  const kept = files.filter((_, i) => decoded.images[i] !== null);
  const set: QuerySet = {
    source: `folder ${root}`,
    pixels: concat(decoded.images.filter((x): x is Uint8Array => x !== null), corpus.imageSize),
    count: kept.length,
    imageSize: corpus.imageSize,
    keys: kept.map((f) => f.path),
    relevant: kept.map((f) => idsOfClass(corpus, f.className)),
    classes: kept.map((f) => [f.className]),
    skipped: decoded.skipped,
  };
  return { set, unknownClasses };
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
