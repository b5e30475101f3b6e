import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { PROJECT_ROOT } from '../config/load.ts';
import { UserError } from '../runtime/errors.ts';
import type { EpochMetrics, Phase } from './types.ts';

/**
 * The layout of one run in the local store, experiments/<run>/. Everything a later
 * `dsi runs list|compare|sync` needs is in these plain files; none of them holds a secret.
 */
export const STORE_FILES = {
  config: 'config.yaml', // the resolved config
  run: 'run.json', // RunRecord
  metrics: 'metrics.jsonl', // one EpochMetrics per line
  summary: 'summary.json', // flat eval metrics (tracker.logSummary)
  evalReport: 'eval.json', // written by `dsi eval` (not by the tracker); optional
  plots: 'plots', // <phase>-curves.png
  media: 'media.json', // images logged to W&B: [{key, file (under the run folder), step?}]
  wandbOffline: 'wandb-offline', // what W&B would have received, for `dsi runs sync`
} as const;

/** W&B side of a run, as recorded locally (ids only; never the key). */
export interface WandbRecord {
  mode: 'online' | 'offline' | 'disabled';
  id: string;
  project: string;
  entity: string;
  base_url?: string;
  /** The run's page on W&B (online, or after `dsi runs sync`). */
  url?: string;
  /** Set when the online run could not be reached and the run fell back to offline recording. */
  fallback_reason?: string;
  synced_at?: string;
}

export interface RunRecord {
  run: string;
  started: string;
  finished?: string;
  corpus_hash: string;
  backend: string;
  git_commit: string;
  resumed: boolean;
  /** `dsi train --from RUN`: the run whose indexing checkpoint phase 2 started from. */
  branched_from?: string;
  phases_done: Phase[];
  /** The training process and its machine, so `dsi runs list` tells a run in progress from an interrupted one. */
  pid?: number;
  host?: string;
  wandb?: WandbRecord;
}

/** The dsi checkout's commit, "unknown" outside a git checkout (e.g. an npm install). */
export function gitCommit(cwd = PROJECT_ROOT): string {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    const sha = out.toString().trim();
    return /^[0-9a-f]{40}$/.test(sha) ? sha : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function readJsonIfExists<T>(path: string): T | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** Lines that do not parse (a run killed mid-write) are skipped rather than failing the whole run. */
export function readMetrics(dir: string): EpochMetrics[] {
  const path = join(dir, STORE_FILES.metrics);
  if (!existsSync(path)) return [];
  const rows: EpochMetrics[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line) as EpochMetrics);
    } catch {
      // torn last line: ignore
    }
  }
  return rows;
}

/** Everything the store holds about one run, read back. */
export interface StoredRun {
  name: string;
  dir: string;
  record: RunRecord | null;
  config: Record<string, unknown> | null;
  metrics: EpochMetrics[];
  summary: Record<string, number | string>;
  evalReport: unknown;
}

/** The resolved config a run trains under, as its store keeps it (config.yaml). */
export function writeRunConfig(runDir: string, config: unknown): void {
  writeFileSync(join(runDir, STORE_FILES.config), stringify(config));
}

export function readRun(experimentsDir: string, name: string): StoredRun {
  const dir = join(experimentsDir, name);
  // experiments/README.md (or any file beside the runs) is not a run.
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    const known = listRunNames(experimentsDir);
    throw new UserError(`run "${name}" not found in ${experimentsDir}/` + (known.length ? ` (runs: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''})` : ' (no runs yet)'));
  }
  const configPath = join(dir, STORE_FILES.config);
  let config: Record<string, unknown> | null = null;
  if (existsSync(configPath)) {
    try {
      config = (parseYaml(readFileSync(configPath, 'utf8')) ?? null) as Record<string, unknown> | null;
    } catch (e) {
      throw new UserError(`${configPath}: not valid YAML (${(e as Error).message})`);
    }
  }
  return {
    name,
    dir,
    record: readJsonIfExists<RunRecord>(join(dir, STORE_FILES.run)),
    config,
    metrics: readMetrics(dir),
    summary: readJsonIfExists<Record<string, number | string>>(join(dir, STORE_FILES.summary)) ?? {},
    evalReport: readJsonIfExists<unknown>(join(dir, STORE_FILES.evalReport)),
  };
}

/** Run folders (those holding a run.json or config.yaml), sorted by name. */
export function listRunNames(experimentsDir: string): string[] {
  if (!existsSync(experimentsDir)) return [];
  return readdirSync(experimentsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && (existsSync(join(experimentsDir, d.name, STORE_FILES.run)) || existsSync(join(experimentsDir, d.name, STORE_FILES.config))))
    .map((d) => d.name)
    .sort();
}

/** An image of the run that W&B shows (training curves, contact sheets); the PNG stays in the run folder. */
export interface MediaEntry {
  /** W&B key, e.g. `indexing/curves`, `search/contact_sheet`. */
  key: string;
  /** Path of the PNG, relative to the run folder. */
  file: string;
  /** History step the image belongs to (the last epoch of its phase); none = summary only. */
  step?: number;
}

export function readMedia(dir: string): MediaEntry[] {
  return readJsonIfExists<MediaEntry[]>(join(dir, STORE_FILES.media)) ?? [];
}

/** Record (or replace, by key) an image in media.json. */
export function writeMediaEntry(dir: string, entry: MediaEntry): MediaEntry[] {
  const media = readMedia(dir).filter((m) => m.key !== entry.key);
  media.push(entry);
  writeFileSync(join(dir, STORE_FILES.media), JSON.stringify(media, null, 2) + '\n');
  return media;
}
