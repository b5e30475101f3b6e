import { createHash } from 'node:crypto';
import { datasetLabel } from '../../data/dataset-label.ts';
import type { EpochMetrics } from '../types.ts';

/** What identifies a dsi run on W&B. `id` is the W&B run id, `displayName` the dsi run name. */
export interface WandbIdentity {
  id: string;
  displayName: string;
  project: string;
  /** '' = the key's default entity (asked from the server). */
  entity: string;
  group: string;
  tags: string[];
}

export const DEFAULT_BASE_URL = 'https://api.wandb.ai';

/** `{data: {num_images: 512}}` -> `{'data.num_images': 512}`; arrays stay values, so runs filter on any key. */
export function flattenConfig(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = value;
  }
  return out;
}

/**
 * W&B's backend stores config as `{key: {value, desc}}` (the Python client sends it that way and
 * the UI reads it that way); @wandb/sdk 0.5.1 JSON-encodes whatever it is given, so we wrap here.
 */
export function wandbConfig(flat: Record<string, unknown>): Record<string, { value: unknown; desc: null }> {
  return Object.fromEntries(Object.entries(flat).map(([k, v]) => [k, { value: v, desc: null }]));
}

/** W&B run ids allow letters, digits, '-' and '_'; the dsi name is kept verbatim as the display name. */
export function wandbRunId(runName: string): string {
  return runName.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 128) || 'run';
}

export interface IdentityEnv {
  WANDB_PROJECT?: string;
  WANDB_ENTITY?: string;
}

export function wandbIdentity(runName: string, config: Record<string, unknown>, env: IdentityEnv): WandbIdentity {
  const data = (config.data ?? {}) as Record<string, unknown>;
  const tracking = (config.tracking ?? {}) as Record<string, unknown>;
  const dataset = datasetLabel(data);
  const dbSize = String(data.num_images ?? '?');
  const scheme = String(data.id_scheme ?? '?');
  return {
    id: wandbRunId(runName),
    displayName: runName,
    project: env.WANDB_PROJECT || (typeof tracking.project === 'string' ? tracking.project : 'dsi'),
    entity: env.WANDB_ENTITY || (typeof tracking.entity === 'string' ? tracking.entity : ''),
    // Group = the comparable cell of the results table (dataset x DB size x ID scheme).
    group: `${dataset}-${dbSize}-${scheme}`,
    tags: [`dataset:${dataset}`, `db:${dbSize}`, `ids:${scheme}`],
  };
}

/**
 * One epoch -> a history row with per-phase names (`indexing/loss`, `retrieval/val_loss`, ...),
 * plus `_timestamp` (W&B's per-row wall clock, unix seconds) when the epoch recorded when it ended:
 * a row uploaded later (`dsi runs sync`, a resumed run re-sending its history) keeps its own time.
 */
export function historyRow(row: EpochMetrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(row)) {
    if (k === 'phase' || k === 'timestamp' || typeof v !== 'number' || !Number.isFinite(v)) continue;
    out[`${row.phase}/${k}`] = v;
  }
  if (typeof row.timestamp === 'number' && Number.isFinite(row.timestamp)) out._timestamp = row.timestamp;
  return out;
}

/** The run summary W&B shows: last value of every history key, then eval metrics on top (no `_` system keys). */
export function runSummary(rows: readonly EpochMetrics[], evalValues: Record<string, number | string>): Record<string, number | string> {
  const summary: Record<string, number | string> = {};
  for (const row of rows) Object.assign(summary, historyRow(row));
  delete summary._timestamp;
  return { ...summary, ...evalValues };
}

/** The web page of a run: <app>/<entity>/<project>/runs/<id>, the app being the API host without `api.` (api.wandb.ai -> wandb.ai). */
export function runUrl(baseUrl: string, run: { entity: string; project: string; id: string }): string {
  const app = baseUrl.replace(/\/+$/, '').replace('://api.', '://');
  return `${app}/${encodeURIComponent(run.entity)}/${encodeURIComponent(run.project)}/runs/${encodeURIComponent(run.id)}`;
}

/** An image as W&B stores it: a file under media/images/ and, in history and summary, this reference. */
export interface ImageFileValue {
  _type: 'image-file';
  path: string;
  sha256: string;
  size: number;
  width: number;
  height: number;
  format: 'png';
}

/** A PNG logged under `key` (at history `step`, if any): the file to upload and the value that points to it. */
export function imageFile(key: string, png: Buffer, step?: number): { name: string; bytes: Buffer; value: ImageFileValue } {
  const sha256 = createHash('sha256').update(png).digest('hex');
  const isPng = png.length >= 24 && png.readUInt32BE(0) === 0x89504e47;
  const name = `media/images/${key.replace(/[^A-Za-z0-9._-]+/g, '_')}_${step ?? 'summary'}_${sha256.slice(0, 20)}.png`;
  return {
    name,
    bytes: png,
    value: { _type: 'image-file', path: name, sha256, size: png.length, width: isPng ? png.readUInt32BE(16) : 0, height: isPng ? png.readUInt32BE(20) : 0, format: 'png' },
  };
}
