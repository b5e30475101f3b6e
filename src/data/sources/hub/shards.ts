import { datasetInfo, listFiles, type ListFileEntry } from '@huggingface/hub';
import { UserError } from '../../../runtime/errors.ts';
import { explainHubError, type HubAccess } from './access.ts';

/** The Hub's own parquet export of every public dataset lives on this branch. */
export const PARQUET_CONVERSION_REVISION = 'refs/convert/parquet';

export interface HubShard {
  path: string;
  size: number;
}

/** Which parquet files hold one config/split, pinned to a commit so the cache can trust them. */
export interface ResolvedShards {
  repo: string;
  config: string;
  split: string;
  /** The branch/tag the files were found on: data.revision, or the parquet-conversion branch. */
  revision: string;
  /** Commit sha of that revision: files under it never change. */
  sha: string;
  files: HubShard[];
  /** The dataset card's YAML (label names may live in dataset_info). */
  cardData: unknown;
}

interface CardConfig {
  config_name?: string;
  default?: boolean;
  data_files?: string | string[] | { split?: string; path?: string | string[] }[];
}

/**
 * Finds the parquet shards of `config`/`split`: the dataset's own parquet files when its card
 * (or the default file-name conventions) says where they are, otherwise the Hub's conversion.
 */
export async function resolveShards(
  access: HubAccess,
  wanted: { config: string | null; split: string; revision: string },
): Promise<ResolvedShards> {
  const main = await info(access, wanted.revision);
  const card = (main.cardData ?? {}) as { configs?: CardConfig[] };
  const configs = Array.isArray(card.configs) ? card.configs : [];
  // No config asked for: the card's default one, its only one, or the implicit "default".
  const implicit = configs.find((c) => c.default) ?? (configs.length === 1 ? configs[0] : undefined);
  const config = wanted.config ?? implicit?.config_name ?? 'default';

  const ownPatterns = dataFilePatterns(configs, config, wanted.split);
  if (ownPatterns) {
    const listing = await list(access, main.sha, undefined, `listing files of revision ${wanted.revision}`);
    const own = listing.filter((f) => f.path.endsWith('.parquet') && ownPatterns.some((re) => re.test(f.path)));
    if (own.length > 0) {
      return { repo: access.repo, config, split: wanted.split, revision: wanted.revision, sha: main.sha, files: sortShards(own), cardData: main.cardData };
    }
  }

  const converted = await info(access, PARQUET_CONVERSION_REVISION).catch((err) => {
    if (err instanceof UserError && /HTTP 404/.test(err.message)) {
      throw new UserError(
        `dataset ${access.repo} has no parquet files for config "${config}" split "${wanted.split}" and no parquet conversion ` +
          `(${PARQUET_CONVERSION_REVISION}); only parquet datasets are supported`,
      );
    }
    throw err;
  });
  const listing = await list(access, converted.sha, undefined, 'listing the parquet conversion');
  const files = listing.filter((f) => f.path.endsWith('.parquet') && isConvertedShard(f.path, config, wanted.split));
  if (files.length === 0) {
    throw new UserError(
      `dataset ${access.repo} has no parquet files for config "${config}" split "${wanted.split}"; ` +
        `available (data.hub_config/data.hub_split): ${availableConfigSplits(listing).join(', ') || 'none'}`,
    );
  }
  if (files.some((f) => f.path.includes('/partial-'))) {
    process.stderr.write(
      `note: the Hub's parquet conversion of ${access.repo} ${config}/${wanted.split} is partial (the first shards only)\n`,
    );
  }
  return {
    repo: access.repo,
    config,
    split: wanted.split,
    revision: PARQUET_CONVERSION_REVISION,
    sha: converted.sha,
    files: sortShards(files),
    cardData: main.cardData,
  };
}

async function info(access: HubAccess, revision: string): Promise<{ sha: string; cardData?: unknown }> {
  try {
    const res = await datasetInfo({
      name: access.repo,
      revision,
      additionalFields: ['sha', 'cardData'],
      hubUrl: access.hubUrl,
      accessToken: access.accessToken,
      fetch: access.fetch,
    });
    if (typeof res.sha !== 'string') throw new UserError(`the Hub returned no commit sha for ${access.repo}@${revision}`);
    return { sha: res.sha, cardData: res.cardData };
  } catch (err) {
    throw explainHubError(err, access, `resolving revision ${revision}`);
  }
}

async function list(access: HubAccess, sha: string, path: string | undefined, what: string): Promise<HubShard[]> {
  const out: HubShard[] = [];
  try {
    for await (const entry of listFiles({
      repo: { type: 'dataset', name: access.repo },
      revision: sha,
      path,
      recursive: true,
      hubUrl: access.hubUrl,
      accessToken: access.accessToken,
      fetch: access.fetch,
    })) {
      if (entry.type === 'file') out.push({ path: entry.path, size: sizeOf(entry) });
    }
  } catch (err) {
    throw explainHubError(err, access, what);
  }
  return out;
}

function sizeOf(entry: ListFileEntry): number {
  return entry.lfs?.size ?? entry.size;
}

/**
 * Regexes for the card's `configs[].data_files` of this split, or the `datasets` library's
 * default split naming (data/train-00000-of-00001.parquet, train/*.parquet...) when the card
 * declares no configs. null: this config cannot be served from the dataset's own files.
 */
function dataFilePatterns(configs: CardConfig[], config: string, split: string): RegExp[] | null {
  const declared = configs.find((c) => c.config_name === config);
  if (declared?.data_files !== undefined) {
    const files = declared.data_files;
    const globs =
      typeof files === 'string' || (Array.isArray(files) && files.every((f) => typeof f === 'string'))
        ? split === 'train'
          ? ([] as string[]).concat(files as string | string[]) // datasets' rule: bare files form the train split
          : []
        : (files as { split?: string; path?: string | string[] }[])
            .filter((f) => f.split === split)
            .flatMap((f) => ([] as string[]).concat(f.path ?? []));
    return globs.map(globToRegExp);
  }
  if (configs.length > 0 || config !== 'default') return null;
  const s = escapeRegExp(split);
  return [new RegExp(`(^|/)${s}([-._ 0-9/]|$)`), new RegExp(`(^|/)[^/]*[-._ 0-9]${s}[-._ 0-9][^/]*$`)];
}

function isConvertedShard(path: string, config: string, split: string): boolean {
  const prefix = `${config}/`;
  if (!path.startsWith(prefix)) return false;
  const rest = path.slice(prefix.length);
  // Current layout: <config>/<split>/0000.parquet (or partial-<split>/ for very large splits);
  // older conversions: <config>/<name>-<split>[-00000-of-00003].parquet.
  if (rest.startsWith(`${split}/`) || rest.startsWith(`partial-${split}/`)) return true;
  return !rest.includes('/') && new RegExp(`-${escapeRegExp(split)}(-\\d+-of-\\d+)?\\.parquet$`).test(rest);
}

function availableConfigSplits(listing: HubShard[]): string[] {
  const seen = new Set<string>();
  for (const { path } of listing) {
    const parts = path.split('/');
    if (parts.length >= 3) seen.add(`${parts[0]}/${parts[1].replace(/^partial-/, '')}`);
  }
  return [...seen].sort();
}

function sortShards(files: HubShard[]): HubShard[] {
  return [...files].sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += escapeRegExp(c);
  }
  return new RegExp(`^${re}$`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
