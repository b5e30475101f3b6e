/**
 * Embeddings a researcher brings for semantic IDs (data.semantic_embeddings + data.semantic_names):
 * a NumPy .npy matrix, one row per image, as CLIP/DINO feature extractors and `dsi embed` write it,
 * and a text file naming each row's image. Parsed with npyjs (NumPy's own format, float16/32/64,
 * C or Fortran order); rows are matched to the corpus's images by path suffix, so a line may be the
 * image's path relative to data.root, any longer path ending in it, or a bare file name when only
 * one image has it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseNpy } from 'npyjs';
import { PROJECT_ROOT } from '../config/load.ts';
import { UserError } from '../runtime/errors.ts';

export interface ExternalEmbeddings {
  /** rows x dim, row-major. */
  values: Float32Array;
  rows: number;
  dim: number;
  /** The image each row embeds, as the names file gives it. */
  names: string[];
  /** sha256 of both files' bytes: part of the corpus hash, so other embeddings make another corpus. */
  digest: string;
}

/** A relative path against the current directory first, then the project root (as data.root). */
function resolveInput(path: string, key: string): string {
  const candidates = isAbsolute(path) ? [path] : [resolve(process.cwd(), path), resolve(PROJECT_ROOT, path)];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new UserError(`${key}=${path}: no such file (looked for ${[...new Set(candidates)].join(' and ')})`);
  return found;
}

export function readExternalEmbeddings(npyPath: string, namesPath: string): ExternalEmbeddings {
  const npyFile = resolveInput(npyPath, 'data.semantic_embeddings');
  const namesFile = resolveInput(namesPath, 'data.semantic_names');
  const npyBytes = readFileSync(npyFile);
  const namesBytes = readFileSync(namesFile);
  let array: ReturnType<typeof parseNpy>;
  try {
    array = parseNpy(npyBytes.buffer.slice(npyBytes.byteOffset, npyBytes.byteOffset + npyBytes.byteLength) as ArrayBuffer);
  } catch (e) {
    throw new UserError(`data.semantic_embeddings=${npyPath}: not a NumPy .npy file (${(e as Error).message})`);
  }
  if (!['f2', 'f4', 'f8'].includes(array.dtype)) {
    throw new UserError(`data.semantic_embeddings=${npyPath}: dtype ${array.dtype}, expected float16, float32 or float64`);
  }
  if (array.shape.length !== 2 || array.shape[0] < 1 || array.shape[1] < 1) {
    throw new UserError(`data.semantic_embeddings=${npyPath}: shape (${array.shape.join(', ')}), expected (images, dimensions)`);
  }
  const [rows, dim] = array.shape;
  const data = array.data as unknown as ArrayLike<number>;
  const values = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < dim; c++) {
      const v = array.fortranOrder ? data[c * rows + r] : data[r * dim + c];
      if (!Number.isFinite(v)) throw new UserError(`data.semantic_embeddings=${npyPath}: row ${r}, column ${c} is ${v}`);
      values[r * dim + c] = v;
    }
  }
  const names = namesBytes.toString('utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (names.length !== rows) {
    throw new UserError(`data.semantic_names=${namesPath}: ${names.length} names for the ${rows} rows of data.semantic_embeddings=${npyPath}`);
  }
  const digest = createHash('sha256').update(npyBytes).update('\0').update(namesBytes).digest('hex').slice(0, 16);
  return { values, rows, dim, names, digest };
}

const normalise = (path: string) => path.replace(/\\/g, '/');

/**
 * The embedding of each source (an image's path, Hub reference or COCO file name), in order: the
 * row whose name is the source or a '/'-bounded suffix of it. A source with no row, or with two,
 * is an error naming it.
 */
export function embeddingsFor(ext: ExternalEmbeddings, sources: readonly string[]): Float32Array {
  const byName = new Map<string, number[]>();
  ext.names.forEach((name, row) => {
    const key = normalise(name).replace(/^\.\//, '');
    byName.set(key, [...(byName.get(key) ?? []), row]);
  });
  const out = new Float32Array(sources.length * ext.dim);
  const missing: string[] = [];
  const usedBy = new Map<number, string>();
  sources.forEach((source, i) => {
    const parts = normalise(source).split('/');
    // Longest suffix first: "class/img.jpg" wins over a bare "img.jpg" line.
    let rows: number[] | undefined;
    for (let start = 0; start < parts.length && !rows; start++) rows = byName.get(parts.slice(start).join('/'));
    if (!rows) {
      missing.push(source);
      return;
    }
    if (rows.length > 1) throw new UserError(`data.semantic_names: ${rows.length} rows (${rows.join(', ')}) name the image ${source}`);
    const other = usedBy.get(rows[0]);
    if (other !== undefined) {
      throw new UserError(`data.semantic_names: row ${rows[0]} ("${ext.names[rows[0]]}") matches two images, ${other} and ${source}: give paths relative to data.root`);
    }
    usedBy.set(rows[0], source);
    out.set(ext.values.subarray(rows[0] * ext.dim, (rows[0] + 1) * ext.dim), i * ext.dim);
  });
  if (missing.length > 0) {
    throw new UserError(`data.semantic_names names no row for ${missing.length} indexed image(s), e.g. ${missing.slice(0, 3).join(', ')}`);
  }
  return out;
}
