/**
 * The seams between stages are plain data. A `Corpus` is what the data stage hands to training,
 * BoVW and evaluation: every image as RGB uint8 in one buffer, plus metadata and the split.
 */

/** One image of the corpus (a row of the pixel buffer). */
export interface ImageRecord {
  /** Row in `Corpus.pixels` (row r occupies [r*H*W*3, (r+1)*H*W*3)). */
  row: number;
  /** Where it came from: a file path, or `hub:<repo>/<split>#<row>`, or a COCO file name. */
  source: string;
  /** Class names; COCO: object categories ordered by total area (largest first). */
  classes: string[];
  /** COCO captions (empty elsewhere). */
  captions: string[];
  /** indexed: in the database; train/val/test: a query in that part of the query split. */
  role: 'indexed' | 'train' | 'val' | 'test';
  /** DSI ID (0..n-1) of an indexed image; null for queries. */
  id: number | null;
  /** For queries: IDs of the indexed images relevant to it (same class / shared COCO category), ascending. */
  relevantIds: number[];
}

export interface SkippedFile {
  source: string;
  reason: string;
}

export interface CorpusSummary {
  images: number;
  classes: number;
  indexed: number;
  queries: { train: number; val: number; test: number };
  /**
   * Queries none of whose classes has an indexed image (possible with multi-label COCO, where a
   * query's primary class may be a kept class's rare co-label): they score 0 for P@K and are
   * skipped by Recall/AP, so the user should know how many there are.
   */
  queriesWithoutRelevant: number;
  meanRelevantPerQuery: number;
  idLength: number;
  skipped: number;
}

export interface Corpus {
  /** Hash of the data config + source identity: the cache key, recorded in checkpoints and runs. */
  hash: string;
  /** Side of the square images. */
  imageSize: number;
  /** N x imageSize x imageSize x 3, RGB, row-major. */
  pixels: Uint8Array;
  records: ImageRecord[];
  /** Classes kept, in selection order (largest first). */
  classNames: string[];
  /**
   * Human names for tables and contact sheets, parallel to classNames ("goldfish" for the class
   * "n01443537"); the same as classNames where there is nothing better. See displayNameOf.
   */
  displayNames?: string[];
  skipped: SkippedFile[];
  /** Rows of the indexed images ordered by ID: `indexedRows[id]` is the row of image `id`. */
  indexedRows: number[];
  /** Digits of the longest ID code (every code of hierarchical/semantic IDs has this length). */
  idLength: number;
  /**
   * `codes[id]`: the digit string the model writes for indexed image `id` (data.id_scheme).
   * Absent in corpora cached before codes existed: there the decimal form of the ID (idCodes).
   */
  codes?: string[];
  /** Path of the cache folder it was loaded from. */
  cachePath: string;
}

/** The human name of a class of `corpus` (its WordNet lemma, for WordNet-ID classes). */
export function displayNameOf(corpus: Pick<Corpus, 'classNames' | 'displayNames'>, className: string): string {
  const i = corpus.classNames.indexOf(className);
  return (i >= 0 ? corpus.displayNames?.[i] : undefined) ?? className;
}

/** The code string of every indexed ID, by ID. */
export function idCodes(corpus: Pick<Corpus, 'codes' | 'indexedRows'>): string[] {
  return corpus.codes ?? corpus.indexedRows.map((_, id) => String(id));
}

/** The pixels of one row, without copying. */
export function imagePixels(corpus: Corpus, row: number): Uint8Array {
  const size = corpus.imageSize * corpus.imageSize * 3;
  return corpus.pixels.subarray(row * size, (row + 1) * size);
}

/** Query records of one role (or all queries). */
export function queriesOf(corpus: Corpus, role?: 'train' | 'val' | 'test'): ImageRecord[] {
  return corpus.records.filter((r) => (role ? r.role === role : r.role !== 'indexed'));
}
