import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parquetMetadataAsync, parquetReadObjects, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { UserError } from '../../../runtime/errors.ts';

/**
 * One downloaded parquet shard of a Hub image-classification dataset. Labels are read up front
 * (a few bytes per row); image bytes are read lazily, one row group at a time, so a 10k-row split
 * is never held in memory twice.
 */
export interface ParquetShard {
  rows: number;
  /** Class index per row; null where the row has no label. */
  labels: (number | null)[];
  /** ClassLabel names from the shard's "huggingface" metadata, when present. */
  labelNames: string[] | null;
  /** Encoded image bytes of a row (null when the cell is empty). */
  readImage(row: number): Promise<Uint8Array | null>;
}

interface Features {
  [column: string]: { _type?: string; names?: string[] };
}

/** Row groups kept decoded: enough for in-order reads across a group boundary. */
const CACHED_GROUPS = 2;

/**
 * The first read of a remote file's footer: up to 32 kB (a few hundred row groups), less for small
 * files. A larger footer costs hyparquet one more request, not a wrong answer.
 */
const footerFetchBytes = (fileBytes: number) => Math.min(32 * 1024, Math.max(4096, Math.floor(fileBytes / 64)));

export interface ShardOpenOptions {
  /** Where the label column is read from, when not `file` (a remote file's non-caching view). */
  labelFile?: AsyncBuffer;
  /** The labels read once are kept here (JSON): reopening a shard then reads only its footer. */
  labelsCacheFile?: string;
}

interface CachedLabels {
  rows: number;
  labels: (number | null)[];
}

/**
 * `file` is a local file or a remote one read by ranges (see remote-buffer.ts): only the footer
 * and the label column are read here; a row group's images only when one of its rows is read.
 */
export async function openParquetShard(file: AsyncBuffer, path: string, opts: ShardOpenOptions = {}): Promise<ParquetShard> {
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file, { initialFetchSize: footerFetchBytes(file.byteLength) });
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot read parquet file ${path}: ${(err as Error).message}; delete it to download it again`);
  }
  const features = huggingfaceFeatures(metadata);
  const topLevel = topLevelColumns(metadata);
  const imageColumn =
    Object.keys(features).find((k) => features[k]._type === 'Image') ?? topLevel.find((c) => c.hasBytesChild)?.name;
  if (!imageColumn) {
    throw new UserError(`parquet file ${path} has no image column (columns: ${topLevel.map((c) => c.name).join(', ')})`);
  }
  const labelColumn =
    Object.keys(features).find((k) => features[k]._type === 'ClassLabel') ??
    topLevel.find((c) => ['label', 'labels', 'fine_label'].includes(c.name) && !c.hasBytesChild)?.name;
  const rows = Number(metadata.num_rows);

  let labels: (number | null)[] = new Array(rows).fill(null);
  const savedLabels = opts.labelsCacheFile ? await readCachedLabels(opts.labelsCacheFile, rows) : null;
  if (savedLabels) labels = savedLabels;
  else if (labelColumn) {
    const read = await parquetReadObjects({ file: opts.labelFile ?? file, metadata, columns: [labelColumn] }).catch((err) => {
      throw unreadable(path, err);
    });
    labels = read.map((r) => (r[labelColumn] === null || r[labelColumn] === undefined ? null : Number(r[labelColumn])));
    if (opts.labelsCacheFile) await writeCachedLabels(opts.labelsCacheFile, { rows, labels });
  }

  const groupStarts: number[] = [];
  let start = 0;
  for (const group of metadata.row_groups) {
    groupStarts.push(start);
    start += Number(group.num_rows);
  }
  const groups = new Map<number, Promise<(Uint8Array | null)[]>>();
  const loadGroup = (g: number) => {
    let cached = groups.get(g);
    if (!cached) {
      const rowStart = groupStarts[g];
      const rowEnd = rowStart + Number(metadata.row_groups[g].num_rows);
      // utf8: false keeps the image bytes (BYTE_ARRAY without a string annotation) as bytes.
      cached = parquetReadObjects({ file, metadata, columns: [imageColumn], rowStart, rowEnd, utf8: false }).then((objs) =>
        objs.map((o) => toBytes(o[imageColumn])),
        (err) => {
          groups.delete(g);
          throw unreadable(path, err);
        },
      );
      groups.set(g, cached);
      while (groups.size > CACHED_GROUPS) groups.delete(groups.keys().next().value!);
    }
    return cached;
  };

  return {
    rows,
    labels,
    labelNames: labelColumn ? (features[labelColumn]?.names ?? null) : null,
    async readImage(row) {
      if (row < 0 || row >= rows) throw new RangeError(`row ${row} outside 0..${rows - 1} of ${path}`);
      let g = groupStarts.length - 1;
      while (groupStarts[g] > row) g--;
      return (await loadGroup(g))[row - groupStarts[g]];
    },
  };
}

async function readCachedLabels(path: string, rows: number): Promise<(number | null)[] | null> {
  try {
    const saved = JSON.parse(await readFile(path, 'utf8')) as CachedLabels;
    return saved.rows === rows && saved.labels.length === rows ? saved.labels : null;
  } catch {
    return null;
  }
}

async function writeCachedLabels(path: string, value: CachedLabels) {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(value));
  await rename(tmp, path);
}

/** E.g. a codec hyparquet does not bundle (it reads snappy, the `datasets`/Hub default). */
function unreadable(path: string, err: unknown): UserError {
  return new UserError(`cannot read parquet file ${path}: ${(err as Error).message}`);
}

/** An Image cell is a struct {bytes, path}; some exports store the bytes directly. */
function toBytes(cell: unknown): Uint8Array | null {
  if (cell instanceof Uint8Array) return cell;
  const bytes = (cell as { bytes?: unknown } | null)?.bytes;
  return bytes instanceof Uint8Array && bytes.length > 0 ? bytes : null;
}

function huggingfaceFeatures(metadata: FileMetaData): Features {
  const entry = metadata.key_value_metadata?.find((kv) => kv.key === 'huggingface');
  if (!entry?.value) return {};
  try {
    const parsed = JSON.parse(entry.value) as { info?: { features?: Features } };
    return parsed.info?.features ?? {};
  } catch {
    return {}; // malformed metadata: fall back to column names and the dataset card
  }
}

function topLevelColumns(metadata: FileMetaData): { name: string; hasBytesChild: boolean }[] {
  // schema is a flattened tree: element 0 is the root, each group is followed by its children.
  const out: { name: string; hasBytesChild: boolean }[] = [];
  const schema = metadata.schema;
  let i = 1;
  const skip = (idx: number): number => {
    let next = idx + 1;
    for (let c = 0; c < (schema[idx].num_children ?? 0); c++) next = skip(next);
    return next;
  };
  while (i < schema.length) {
    const el = schema[i];
    const children: string[] = [];
    let j = i + 1;
    for (let c = 0; c < (el.num_children ?? 0); c++) {
      children.push(schema[j].name);
      j = skip(j);
    }
    out.push({ name: el.name, hasBytesChild: children.includes('bytes') });
    i = skip(i);
  }
  return out;
}

/** ClassLabel names from the dataset card's YAML `dataset_info` (used when shards lack metadata). */
export function cardLabelNames(cardData: unknown, config: string): string[] | null {
  const info = (cardData as { dataset_info?: unknown } | null)?.dataset_info;
  const entries = (Array.isArray(info) ? info : info ? [info] : []) as {
    config_name?: string;
    features?: { name?: string; dtype?: { class_label?: { names?: Record<string, string> | string[] } } }[];
  }[];
  const entry = entries.find((e) => (e.config_name ?? 'default') === config) ?? (entries.length === 1 ? entries[0] : undefined);
  const names = entry?.features?.find((f) => f.dtype?.class_label?.names)?.dtype?.class_label?.names;
  if (!names) return null;
  if (Array.isArray(names)) return names.map(String);
  return Object.keys(names)
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => String(names[k]));
}
