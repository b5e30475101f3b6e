import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MediaEntry } from '../store.ts';
import { postFileStream, upsertRun, uploadRunFiles, viewerEntity, WandbUnavailable, type WandbEndpoint } from './graphql.ts';
import { imageFile, runUrl, wandbConfig, type ImageFileValue, type WandbIdentity } from './payload.ts';

export type WandbSummary = Record<string, number | string | ImageFileValue>;

/**
 * A live W&B run over W&B's own HTTP API: GraphQL upsertBucket (config, tags, group, summary),
 * the file_stream endpoint (history lines, each at the offset of its step, with its own
 * `_timestamp`), and RunUploadUrls + PUT for images under media/images/.
 *
 * Every request is bounded by the endpoint's timeout and nothing is retried in the background:
 * once a request fails the run says so once and sends nothing more (the local store has it all,
 * and `dsi runs sync` re-uploads it). No timer or socket outlives `close`, so the process exits
 * on its own. Nothing here throws into the trainer once `open` has returned.
 */
export class OnlineWandbRun {
  /** Lines waiting for the file stream, by offset (= step). */
  private readonly pending = new Map<number, Record<string, unknown>>();
  /** Every line sent, by offset, so an image logged later can be added to its step's line. */
  private readonly lines = new Map<number, Record<string, unknown>>();
  private sending: Promise<void> | null = null;
  private dead = false;
  /** Requests made (file stream, GraphQL, uploads) after open: tests check there are no retries. */
  requests = 0;

  /** Ends whatever is still in flight when close() stops waiting. */
  private readonly abandon = new AbortController();
  /** Requests made during the run: they run in the background, so they may take longer than the start-up checks. */
  private readonly ep: WandbEndpoint;

  private constructor(
    startEp: WandbEndpoint,
    readonly identity: WandbIdentity,
    /** The run's only warning: whichever request fails first says it. */
    private readonly fail: (e: unknown) => void,
  ) {
    this.ep = { ...startEp, timeoutMs: backgroundTimeoutMs(startEp.timeoutMs), signal: this.abandon.signal };
  }

  /** Check the server and key (viewer), then create or update the run (upsertBucket): two short requests. */
  static async open(ep: WandbEndpoint, identity: WandbIdentity, flatConfig: Record<string, unknown>, commit: string, warn: (m: string) => void): Promise<OnlineWandbRun> {
    const entity = identity.entity || (await viewerEntity(ep));
    const id: WandbIdentity = { ...identity, entity };
    const config = JSON.stringify(wandbConfig(flatConfig));
    await upsertRun(ep, { name: id.id, project: id.project, entity, displayName: id.displayName, groupName: id.group, tags: id.tags, config, commit });
    return new OnlineWandbRun(ep, id, warnOnce(warn, identity.displayName));
  }

  /** The run's page on W&B. */
  get url(): string {
    return runUrl(this.ep.baseUrl, this.ref);
  }

  private get ref() {
    return { entity: this.identity.entity, project: this.identity.project, id: this.identity.id };
  }

  private failed(e: unknown): void {
    this.dead = true;
    this.pending.clear();
    this.fail(e);
  }

  /** Non-blocking: the line is queued and posted in the background, one request at a time. */
  log(history: Record<string, unknown>, step: number): void {
    if (this.dead) return;
    const line = { ...history, _step: step, _timestamp: typeof history._timestamp === 'number' ? history._timestamp : Date.now() / 1000 };
    this.lines.set(step, line);
    this.pending.set(step, line);
    this.kick();
  }

  private kick(): void {
    if (this.sending || this.dead) return;
    this.sending = this.drain().finally(() => {
      this.sending = null;
      if (this.pending.size && !this.dead) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.size && !this.dead) {
      const offsets = [...this.pending.keys()].sort((a, b) => a - b);
      // One message per run of consecutive offsets (a resumed run re-sends 0..n-1 in one go).
      let end = 1;
      while (end < offsets.length && offsets[end] === offsets[end - 1] + 1) end++;
      const batch = offsets.slice(0, end);
      const content = batch.map((o) => JSON.stringify(this.pending.get(o)));
      for (const o of batch) this.pending.delete(o);
      try {
        this.requests++;
        await postFileStream(this.ep, this.ref, { files: { 'wandb-history.jsonl': { offset: batch[0], content } } });
      } catch (e) {
        this.failed(e);
      }
    }
  }

  /** Wait until every queued line is posted (or the stream has failed). */
  async flush(): Promise<void> {
    while (this.sending) await this.sending;
  }

  /** flush(), but for at most one request timeout: then what is in flight is aborted and the run warns. */
  private async flushBounded(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.ep.timeoutMs);
    });
    const outcome = await Promise.race([this.flush().then(() => 'done' as const), gaveUp]);
    clearTimeout(timer);
    if (outcome === 'late') {
      this.failed(new WandbUnavailable(`${this.ep.baseUrl} did not take the history within ${this.ep.timeoutMs} ms`, 'unreachable'));
      this.abandon.abort();
    }
  }

  /**
   * Upload images into media/images/ and return the values that point to them. An image with a
   * step is also added to that step's history line (re-sent at its offset), as wandb.log of an
   * Image does; the caller puts the values in the summary.
   */
  async logImages(runDir: string, media: readonly MediaEntry[]): Promise<Record<string, ImageFileValue>> {
    const values: Record<string, ImageFileValue> = {};
    if (this.dead || media.length === 0) return values;
    const files = media.map((m) => ({ m, ...imageFile(m.key, readFileSync(join(runDir, m.file)), m.step) }));
    try {
      this.requests++;
      await uploadRunFiles(this.ep, this.ref, files);
    } catch (e) {
      this.failed(e);
      return values;
    }
    for (const f of files) {
      values[f.m.key] = f.value;
      if (f.m.step !== undefined && this.lines.has(f.m.step)) this.log({ ...this.lines.get(f.m.step), [f.m.key]: f.value }, f.m.step);
    }
    return values;
  }

  /** Replace the run's summary with this one (keys absent here are gone from W&B's summary). */
  async setSummary(summary: WandbSummary): Promise<void> {
    if (this.dead) return;
    try {
      this.requests++;
      await upsertRun(this.ep, { name: this.identity.id, project: this.identity.project, entity: this.identity.entity, summaryMetrics: JSON.stringify(summary) });
    } catch (e) {
      this.failed(e);
    }
  }

  /** Post what is queued, mark the run finished, then write the summary last so nothing overwrites it. */
  async close(summary: WandbSummary): Promise<void> {
    await this.flushBounded();
    if (!this.dead) {
      try {
        this.requests++;
        await postFileStream(this.ep, this.ref, { complete: true, exitcode: 0 });
      } catch (e) {
        this.failed(e);
      }
    }
    await this.setSummary(summary);
  }
}

/**
 * The start-up checks use the configured timeout (a dead server costs the run that, once); the
 * requests made while training run in the background, so a slow or loaded server gets longer
 * before a row is given up on.
 */
export function backgroundTimeoutMs(timeoutMs: number): number {
  return Math.max(timeoutMs * 4, 20_000);
}

/**
 * One failure report for the whole run. A dead server shows up on every later request: a single
 * flag, so the user reads it once.
 */
function warnOnce(warn: (message: string) => void, runName: string): (e: unknown) => void {
  let warned = false;
  return (e) => {
    if (warned) return;
    warned = true;
    const why = e instanceof WandbUnavailable ? e.message : `a request to W&B failed (${(e as Error).message})`;
    warn(`W&B: ${why}, so W&B may miss part of this run; training goes on, everything is in the local store (re-upload with \`dsi runs sync ${runName}\`)`);
  };
}
