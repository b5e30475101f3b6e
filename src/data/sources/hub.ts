import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DataConfig } from '../../config/sections/data.ts';
import { UserError } from '../../runtime/errors.ts';
import { downloadFile } from '../download.ts';
import type { SkippedFile } from '../types.ts';
import type { ImageSource, SourceItem } from './types.ts';
import { explainHubError, hubAccess, HubUnreachableError, LOCAL_COPY_HINT, type HubAccess } from './hub/access.ts';
import { cardLabelNames, openParquetShard } from './hub/parquet-shard.ts';
import { resolveShards, type ResolvedShards } from './hub/shards.ts';

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

  let shards: ResolvedShards;
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
      shards = cached;
    }
  }

  const localPaths: string[] = [];
  for (const [i, file] of shards.files.entries()) {
    const dest = join(repoDir, shards.sha, file.path);
    if ((await sizeOf(dest)) !== file.size) {
      await fetchShard(access, shards, file.path, dest, file.size, `${repo} ${file.path} (${i + 1}/${shards.files.length})`);
    }
    localPaths.push(dest);
  }

  const identity = `hub:${repo}@${shards.sha}/${shards.config}/${shards.split}`;
  const fallbackNames = cardLabelNames(shards.cardData, shards.config);
  const items: SourceItem[] = [];
  const skipped: SkippedFile[] = [];
  let globalRow = 0;
  for (const [i, path] of localPaths.entries()) {
    const shard = await openParquetShard(path);
    const names = shard.labelNames ?? fallbackNames;
    for (let row = 0; row < shard.rows; row++, globalRow++) {
      const source = `${identity}#${globalRow}`;
      const label = shard.labels[row];
      if (label === null || label < 0) {
        skipped.push({ source, reason: 'no class label' });
        continue;
      }
      const rowInShard = row;
      items.push({
        source,
        classes: [names?.[label] ?? String(label)],
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

async function fetchShard(access: HubAccess, shards: ResolvedShards, path: string, dest: string, size: number, label: string) {
  // The same URL @huggingface/hub's fileDownloadInfo builds; pinned to the commit sha so a resumed
  // .part can only ever continue the very same file.
  const url = `${access.hubUrl}/datasets/${shards.repo}/resolve/${encodeURIComponent(shards.sha)}/${path
    .split('/')
    .map(encodeURIComponent)
    .join('/')}`;
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

/** The last successful resolution, if every shard it names is fully on disk. */
async function cachedResolution(refFile: string, repoDir: string): Promise<ResolvedShards | null> {
  try {
    const saved = JSON.parse(await readFile(refFile, 'utf8')) as ResolvedShards;
    for (const f of saved.files) if ((await sizeOf(join(repoDir, saved.sha, f.path))) !== f.size) return null;
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
