import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { upsertRun, uploadRunFiles, WandbUnavailable, type WandbEndpoint } from './graphql.ts';
import { offlineDir, OfflineWandbRun } from './offline.ts';
import { OnlineWandbRun, type WandbSummary } from './online.ts';
import { DEFAULT_BASE_URL, historyRow, imageFile, runUrl, wandbIdentity, type IdentityEnv, type ImageFileValue, type WandbIdentity } from './payload.ts';
import { STORE_FILES, type MediaEntry, type WandbRecord } from '../store.ts';
import type { EpochMetrics } from '../types.ts';

export type WandbSetting = 'auto' | 'online' | 'offline' | 'disabled';

/** The W&B environment variables dsi reads (the key is passed on to W&B and never stored). */
export interface WandbEnv extends IdentityEnv {
  WANDB_API_KEY?: string;
  WANDB_BASE_URL?: string;
  WANDB_MODE?: string;
}

/** auto: WANDB_MODE if it names a mode, else online when a key is set, else disabled. */
export function resolveWandbMode(setting: WandbSetting, env: WandbEnv): 'online' | 'offline' | 'disabled' {
  if (setting !== 'auto') return setting;
  const m = env.WANDB_MODE?.toLowerCase();
  if (m === 'offline' || m === 'dryrun') return 'offline';
  if (m === 'disabled') return 'disabled';
  if (m === 'online') return 'online';
  return env.WANDB_API_KEY ? 'online' : 'disabled';
}

export function endpointFromEnv(env: WandbEnv, timeoutMs: number): WandbEndpoint | null {
  if (!env.WANDB_API_KEY) return null;
  return { baseUrl: (env.WANDB_BASE_URL || DEFAULT_BASE_URL).replace(/\/+$/, ''), apiKey: env.WANDB_API_KEY, timeoutMs };
}

export interface OpenWandbOptions {
  setting: WandbSetting;
  runDir: string;
  runName: string;
  config: Record<string, unknown>;
  flatConfig: Record<string, unknown>;
  commit: string;
  env: WandbEnv;
  timeoutMs: number;
  warn: (message: string) => void;
  /**
   * Rows already in the local store (a resumed run, or a branch seeded with its source's phase 1);
   * they are sent again, as steps 0..n-1, before the new ones. Empty for a fresh run.
   */
  history: readonly EpochMetrics[];
}

/**
 * The W&B side of one run. Online when it can be, otherwise offline files: if the server is down
 * or the key is rejected the run says so once and records offline, so `dsi runs sync` can upload
 * it later. Never throws into the trainer.
 */
export class WandbSink {
  /** Images uploaded so far (key -> file reference), carried in every summary sent. */
  private images: Record<string, ImageFileValue> = {};

  private constructor(
    readonly record: WandbRecord,
    private readonly online: OnlineWandbRun | null,
    private readonly offline: OfflineWandbRun | null,
    private readonly runDir: string,
  ) {}

  /** The run's W&B page when it is tracked online; offline runs have none until synced. */
  get url(): string | undefined {
    return this.online?.url;
  }

  /** Requests made after open (tests check a dead server is not retried). */
  get requests(): number {
    return this.online?.requests ?? 0;
  }

  static async open(o: OpenWandbOptions): Promise<WandbSink | null> {
    const mode = resolveWandbMode(o.setting, o.env);
    if (mode === 'disabled') return null;
    const identity = wandbIdentity(o.runName, o.config, o.env);
    if (mode === 'online') {
      const ep = endpointFromEnv(o.env, o.timeoutMs);
      let reason: string;
      if (!ep) {
        reason = 'tracking.wandb=online but WANDB_API_KEY is not set';
      } else {
        try {
          const run = await OnlineWandbRun.open(ep, identity, o.flatConfig, o.commit, o.warn);
          // W&B stores a
          // history line at the offset it is sent with, so a continued run that only sent its new
          // rows would overwrite its first ones. Re-sending the whole history from the local store
          // puts every row at the offset of its step: lines W&B already has get the same content
          // again, lines it missed (a process killed before the SDK flushed) are filled in.
          o.history.forEach((row, step) => run.log(historyRow(row), step));
          const record: WandbRecord = { mode, id: run.identity.id, project: run.identity.project, entity: run.identity.entity, base_url: ep.baseUrl, url: run.url };
          return new WandbSink(record, run, null, o.runDir);
        } catch (e) {
          if (!(e instanceof WandbUnavailable)) throw e;
          reason = e.message;
        }
      }
      o.warn(`W&B disabled for this run: ${reason}. Training goes on; the run is recorded in ${o.runDir}/wandb-offline/ (upload later with \`dsi runs sync ${o.runName}\`)`);
      return WandbSink.openOffline(o, identity, reason, ep?.baseUrl);
    }
    return WandbSink.openOffline(o, identity);
  }

  private static async openOffline(o: OpenWandbOptions, identity: WandbIdentity, fallbackReason?: string, intendedBaseUrl?: string): Promise<WandbSink> {
    const offline = new OfflineWandbRun(o.runDir);
    await offline.open(identity, o.flatConfig, o.commit, o.history.map(historyRow));
    const record: WandbRecord = { mode: 'offline', id: identity.id, project: identity.project, entity: identity.entity };
    if (fallbackReason) record.fallback_reason = fallbackReason;
    // The server this run meant to reach, so `dsi runs sync` goes there without WANDB_BASE_URL.
    if (intendedBaseUrl) record.base_url = intendedBaseUrl;
    return new WandbSink(record, null, offline, o.runDir);
  }

  /**
   * The summary of a run tracked by another process (`dsi eval` after `dsi train`), sent the way
   * its run.json says it was tracked. Never fails the caller: a problem is one warning.
   */
  static async sendSummary(o: { runDir: string; record: WandbRecord; summary: Record<string, number | string>; media?: readonly MediaEntry[]; env: WandbEnv; timeoutMs: number; warn: (message: string) => void }): Promise<void> {
    const { runDir, record: rec, env, warn } = o;
    let summary: WandbSummary = o.summary;
    if (rec.mode === 'disabled') return;
    if (rec.mode === 'offline') {
      await mkdir(offlineDir(runDir), { recursive: true });
      // Images stay in media.json and the run folder: `dsi runs sync` uploads them.
      return new OfflineWandbRun(runDir).setSummary(o.summary);
    }
    const ep = endpointFromEnv({ ...env, WANDB_BASE_URL: env.WANDB_BASE_URL || rec.base_url }, o.timeoutMs);
    if (!ep) return warn(`the eval summary was not sent to W&B (WANDB_API_KEY is not set); it is in ${join(runDir, STORE_FILES.summary)}`);
    try {
      const files = (o.media ?? []).map((m) => ({ m, ...imageFile(m.key, readFileSync(join(runDir, m.file)), m.step) }));
      await uploadRunFiles(ep, { entity: rec.entity, project: rec.project, id: rec.id }, files);
      summary = { ...summary, ...Object.fromEntries(files.map((f) => [f.m.key, f.value])) };
      await upsertRun(ep, { name: rec.id, project: rec.project, entity: rec.entity, summaryMetrics: JSON.stringify(summary) });
    } catch (e) {
      warn(`the eval summary was not sent to W&B (${(e as Error).message}); it is in ${join(runDir, STORE_FILES.summary)}`);
    }
  }

  async log(row: EpochMetrics, step: number): Promise<void> {
    const history = historyRow(row);
    if (this.online) this.online.log(history, step);
    if (this.offline) await this.offline.log(history, step);
  }

  /** An image (a PNG in the run folder, recorded in media.json): uploaded online; offline, `runs sync` uploads it. */
  async logImage(entry: MediaEntry): Promise<void> {
    if (this.online) Object.assign(this.images, await this.online.logImages(this.runDir, [entry]));
  }

  async setSummary(summary: Record<string, number | string>): Promise<void> {
    if (this.online) await this.online.setSummary({ ...summary, ...this.images });
    if (this.offline) await this.offline.setSummary(summary);
  }

  async close(summary: Record<string, number | string>): Promise<void> {
    if (this.online) await this.online.close({ ...summary, ...this.images });
    if (this.offline) await this.offline.setSummary(summary);
  }
}

/** The web page of a run recorded in run.json, if it went to (or was synced to) a server. */
export function recordedRunUrl(rec: WandbRecord | undefined): string | undefined {
  if (!rec || !rec.base_url || rec.mode === 'disabled' || (rec.mode === 'offline' && !rec.synced_at)) return undefined;
  return rec.url ?? runUrl(rec.base_url, rec);
}
