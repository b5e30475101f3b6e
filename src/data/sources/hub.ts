import { asyncBufferFromFile } from 'hyparquet';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DataConfig } from '../../config/sections/data.ts';
import { UserError } from '../../runtime/errors.ts';
import { downloadFile } from '../download.ts';
import type { SkippedFile } from '../types.ts';
import type { ImageSource, SourceItem } from './types.ts';
import { explainHubError, hubAccess, HubUnreachableError, LOCAL_COPY_HINT, type HubAccess } from './hub/access.ts';
import { cardLabelNames, openParquetShard, type ParquetShard } from './hub/parquet-shard.ts';
import { openRemoteBuffer, transferStats } from './hub/remote-buffer.ts';
import { resolveShards, type ResolvedShards } from './hub/shards.ts';
import { mapInOrder } from '../decode-selection.ts';
import { progressBar } from '../../runtime/progress.ts';

/**
 * `data.source=hub`: an image-classification dataset on the Hugging Face Hub, read from parquet.
 *
 * Cache layout under `<cacheDir>/hub/datasets--<owner>--<name>/`:
 *   <sha>/<path in repo>   shards, keyed by the commit they came from (content never changes)
 *   refs/<rev>--<config>--<split>.json   the last resolution, so a machine that goes offline
 *                                        can still open what it already downloaded
 * The token is never part of any path or file.
 */
export async function openHubSource(data: DataConfig, opts: { cacheDir: string }): Promise<ImageSource> {
  const repo = data.dataset;
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(repo)) {
    throw new UserError(`data.dataset="${repo}" is not a Hub dataset id (expected owner/name, e.g. frgfm/imagenette)`);
  }
  const access = hubAccess(repo);
  const repoDir = join(opts.cacheDir, 'hub', `datasets--${repo.replace('/', '--')}`);
  const refFile = join(
    repoDir,
    'refs',
    [data.revision, data.hub_config ?? '_default', data.hub_split].map((s) => s.replace(/[^\w.-]/g, '_')).join('--') + '.json',
  );

  let shards: ResolvedShards & { fromCache?: boolean };
  if (process.env.HF_HUB_OFFLINE === '1') {
    // The Hub client's usual switch: use what the cache holds, never touch the network.
    const cached = await cachedResolution(refFile, repoDir);
    if (!cached) {
      throw new UserError(
        `HF_HUB_OFFLINE=1 but ${repo} (${data.hub_config ?? 'default'}/${data.hub_split}@${data.revision}) is not in the cache ${repoDir}. ${LOCAL_COPY_HINT}`,
      );
    }
    shards = cached;
  } else {
    try {
      shards = await resolveShards(access, { config: data.hub_config, split: data.hub_split, revision: data.revision });
      await writeJsonAtomic(refFile, shards);
    } catch (err) {
      const cached = err instanceof HubUnreachableError ? await cachedResolution(refFile, repoDir) : null;
      if (!cached) throw err;
      process.stderr.write(`note: ${(err as Error).message.split('. ')[0]}; using the copy already in ${repoDir}\n`);
      shards = { ...cached, fromCache: true };
    }
  }

  const offline = process.env.HF_HUB_OFFLINE === '1' || shards.fromCache === true;
  const openedShards = await openShards(access, shards, repoDir, offline);

  const identity = `hub:${repo}@${shards.sha}/${shards.config}/${shards.split}`;
  const fallbackNames = cardLabelNames(shards.cardData, shards.config);
  const items: SourceItem[] = [];
  const skipped: SkippedFile[] = [];
  let globalRow = 0;
  for (const [i, shard] of openedShards.entries()) {
    const names = shard.labelNames ?? fallbackNames;
    for (let row = 0; row < shard.rows; row++, globalRow++) {
      const source = `${identity}#${globalRow}`;
      const label = shard.labels[row];
      if (label === null || label < 0) {
        skipped.push({ source, reason: 'no class label' });
        continue;
      }
      const rowInShard = row;
      const className = names?.[label] ?? String(label);
      items.push({
        source,
        classes: [className],
        captions: [],
        async read() {
          const bytes = await shard.readImage(rowInShard);
          if (!bytes) throw new Error(`no image bytes in ${shards.files[i].path} row ${rowInShard}`);
          return bytes;
        },
      });
    }
  }
  // Reference rule: full ImageNet (photos of any shape) keeps square-ish images first; the
  // fixed-size datasets (Imagenette 160px, Tiny ImageNet) are centre-cropped whatever their aspect.
  const aspectSelection = VARIABLE_SIZE_DATASETS.has(repo.toLowerCase());
  return { identity, items, skipped, aspectSelection };
}

const VARIABLE_SIZE_DATASETS = new Set(['ilsvrc/imagenet-1k', 'imagenet-1k']);

/**
 * Shards up to this size are downloaded whole (one request beats dozens of small ones); larger ones
 * are read by byte ranges: footer and label column first, then only the row groups that hold the
 * selected images (as the decoder asks for them). DSI_HUB_WHOLE_SHARD_BYTES changes the threshold.
 */
const wholeShardBytes = () => Number(process.env.DSI_HUB_WHOLE_SHARD_BYTES ?? 16_000_000);

/** Shards opened at a time while reading labels (each issues several range requests). */
const SHARD_CONCURRENCY = 4;

async function openShards(access: HubAccess, shards: ResolvedShards, repoDir: string, offline: boolean): Promise<ParquetShard[]> {
  const whole = wholeShardBytes();
  const remote = shards.files.filter((f) => f.size > whole);
  const bar = remote.length > 0 ? progressBar(`labels ${shards.repo}`, shards.files.length, 'shard') : null;
  const before = transferStats.bytes;
  // Whole shards one after the other, as before: one progress bar at a time, in order.
  for (const [i, file] of shards.files.entries()) {
    const dest = join(repoDir, shards.sha, file.path);
    if (file.size <= whole && (await sizeOf(dest)) !== file.size) {
      const label = `${shards.repo} ${file.path} (${i + 1}/${shards.files.length})`;
      await fetchShard(access, shardUrl(access, shards, file.path), dest, file.size, label, file.path);
    }
  }
  try {
    return await mapInOrder([...shards.files.entries()], SHARD_CONCURRENCY, async ([i, file]) => {
      const dest = join(repoDir, shards.sha, file.path);
      const label = `${shards.repo} ${file.path} (${i + 1}/${shards.files.length})`;
      let shard: ParquetShard;
      if ((await sizeOf(dest)) === file.size) {
        shard = await openParquetShard(await asyncBufferFromFile(dest), dest);
      } else {
        const buffer = await openRemoteBuffer({
          url: shardUrl(access, shards, file.path),
          size: file.size,
          rangeDir: `${dest}.ranges`,
          headers: access.accessToken ? { Authorization: `Bearer ${access.accessToken}` } : {},
          offline,
          name: label,
        });
        shard = await openParquetShard(buffer.stored, dest, { labelFile: buffer.transient, labelsCacheFile: `${dest}.labels.json` }).catch(
          (err) => {
            throw explainHubError(err, access, `reading ${file.path}`);
          },
        );
      }
      bar?.tick();
      return shard;
    });
  } finally {
    bar?.stop();
    if (transferStats.bytes > before) {
      const total = shards.files.reduce((n, f) => n + f.size, 0);
      process.stderr.write(
        `note: read the labels of ${shards.repo} ${shards.config}/${shards.split} by byte ranges (${megabytes(transferStats.bytes - before)} fetched ` +
          `of ${megabytes(total)}); only the row groups of the selected images will be fetched\n`,
      );
    }
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 0)} MB`;
}

/** The same URL @huggingface/hub's fileDownloadInfo builds, pinned to the commit sha. */
function shardUrl(access: HubAccess, shards: ResolvedShards, path: string): string {
  return `${access.hubUrl}/datasets/${shards.repo}/resolve/${encodeURIComponent(shards.sha)}/${path
    .split('/')
    .map(encodeURIComponent)
    .join('/')}`;
}

async function fetchShard(access: HubAccess, url: string, dest: string, size: number, label: string, path: string) {
  // Pinned to the commit sha, so a resumed .part can only ever continue the very same file.
  try {
    await downloadFile(url, dest, {
      label,
      expectedSize: size,
      headers: access.accessToken ? { Authorization: `Bearer ${access.accessToken}` } : {},
    });
  } catch (err) {
    throw explainHubError(err, access, `downloading ${path}`);
  }
}

/**
 * The last successful resolution, if every shard it names is on disk: whole, or (a shard read by
 * ranges) with its labels read, so the selection can be planned again without the network.
 */
async function cachedResolution(refFile: string, repoDir: string): Promise<ResolvedShards | null> {
  try {
    const saved = JSON.parse(await readFile(refFile, 'utf8')) as ResolvedShards;
    for (const f of saved.files) {
      const dest = join(repoDir, saved.sha, f.path);
      if ((await sizeOf(dest)) !== f.size && (await sizeOf(`${dest}.labels.json`)) < 0) return null;
    }
    return saved;
  } catch {
    return null;
  }
}

async function writeJsonAtomic(path: string, value: unknown) {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 1));
  await rename(tmp, path);
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return -1;
  }
}
