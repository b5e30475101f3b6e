import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { experimentsRoot } from '../runtime/paths.ts';
import { writePhaseCurves } from './phase-plots.ts';
import { gitCommit, readJsonIfExists, readMedia, readMetrics, STORE_FILES, writeMediaEntry, writeRunConfig, type RunRecord } from './store.ts';
import { flattenConfig, runSummary } from './wandb/payload.ts';
import { WandbSink, type WandbEnv } from './wandb/sink.ts';
import type { EpochMetrics, Phase, RunStartInfo, RunTracker } from './types.ts';

export interface TrackerOptions {
  /** Where WANDB_* come from (tests pass their own). Default: process.env. */
  env?: WandbEnv;
  /** One-line warnings (W&B trouble, a plot that failed). Default: stderr. */
  warn?: (message: string) => void;
  /** Per-request W&B timeout; a dead server costs the run about this much, once. */
  timeoutMs?: number;
  /** One-line notes (the W&B run's URL). Default: stderr. */
  note?: (message: string) => void;
}

const defaultWarn = (m: string) => process.stderr.write(`dsi: warning: ${m}\n`);
const defaultNote = (m: string) => process.stderr.write(`dsi: ${m}\n`);

/** Eval results replace the previous ones: a metric the new eval does not produce is dropped, not kept stale. */
const EVAL_PREFIX = 'eval/';

/**
 * The run tracker: the local store experiments/<run>/ always (config.yaml, run.json,
 * metrics.jsonl, summary.json, plots/<phase>-curves.png), plus W&B when tracking.wandb allows.
 */
export function createTracker(runName: string, experimentsDir = experimentsRoot(), options: TrackerOptions = {}): RunTracker {
  const dir = join(experimentsDir, runName);
  const env = options.env ?? (process.env as WandbEnv);
  const warn = options.warn ?? defaultWarn;
  const note = options.note ?? defaultNote;
  const timeoutMs = options.timeoutMs ?? 5000;
  const runFile = join(dir, STORE_FILES.run);
  let record: RunRecord | null = null;
  let rows: EpochMetrics[] = [];
  let wandb: WandbSink | null = null;
  let earlyStopAccuracy: number | undefined;

  const saveRecord = async () => writeFile(runFile, JSON.stringify(record, null, 2) + '\n');
  const readSummary = () => readJsonIfExists<Record<string, number | string>>(join(dir, STORE_FILES.summary)) ?? {};

  return {
    runName,
    dir,
    async start(info: RunStartInfo) {
      await mkdir(dir, { recursive: true });
      const previous = readJsonIfExists<RunRecord>(runFile);
      const continues = info.resumed || Boolean(info.branchedFrom);
      if (!continues) {
        // A fresh run under an old name starts a fresh history.
        for (const f of [STORE_FILES.metrics, STORE_FILES.summary, STORE_FILES.plots, STORE_FILES.media, STORE_FILES.wandbOffline]) await rm(join(dir, f), { recursive: true, force: true });
      }
      rows = continues ? readMetrics(dir) : [];
      earlyStopAccuracy = info.config.train.early_stop_accuracy;
      writeRunConfig(dir, info.config);
      const commit = gitCommit();
      record = {
        run: runName,
        started: continues && previous?.started ? previous.started : new Date().toISOString(),
        corpus_hash: info.corpusHash,
        backend: info.backend,
        git_commit: commit,
        resumed: info.resumed,
        ...(info.branchedFrom || previous?.branched_from ? { branched_from: info.branchedFrom ?? previous?.branched_from } : {}),
        phases_done: continues ? previous?.phases_done ?? [] : [],
        pid: process.pid,
        host: hostname(),
      };
      await saveRecord();
      wandb = await WandbSink.open({
        setting: info.config.tracking.wandb,
        runDir: dir,
        runName,
        config: info.config,
        flatConfig: { ...flattenConfig(info.config), 'run.corpus_hash': info.corpusHash, 'run.backend': info.backend, 'run.git_commit': commit },
        commit,
        env,
        timeoutMs,
        warn,
        history: rows,
      });
      if (wandb) {
        record.wandb = wandb.record;
        await saveRecord();
        if (wandb.url) note(`W&B run: ${wandb.url}`);
      }
    },
    async logEpoch(row: EpochMetrics) {
      // When the epoch ended, so W&B shows its own time even when the row is uploaded later.
      if (row.timestamp === undefined) row = { ...row, timestamp: Date.now() / 1000 };
      await appendFile(join(dir, STORE_FILES.metrics), JSON.stringify(row) + '\n');
      const step = rows.length; // one W&B step per epoch, counted across both phases
      rows.push(row);
      await wandb?.log(row, step);
    },
    async endPhase(phase: Phase) {
      try {
        const entry = await writePhaseCurves(dir, runName, phase, rows, earlyStopAccuracy);
        writeMediaEntry(dir, entry);
        await wandb?.logImage(entry);
      } catch (e) {
        warn(`could not draw the ${phase} curves (${(e as Error).message}); the metrics are in ${join(dir, STORE_FILES.metrics)}`);
      }
      if (record && !record.phases_done.includes(phase)) {
        record.phases_done.push(phase);
        await saveRecord();
      }
    },
    async logSummary(values) {
      await mkdir(dir, { recursive: true });
      const previous = readSummary();
      const replacesEval = Object.keys(values).some((k) => k.startsWith(EVAL_PREFIX));
      const kept = replacesEval ? Object.fromEntries(Object.entries(previous).filter(([k]) => !k.startsWith(EVAL_PREFIX))) : previous;
      const merged = { ...kept, ...values };
      await writeFile(join(dir, STORE_FILES.summary), JSON.stringify(merged, null, 2) + '\n');
      if (wandb) return wandb.setSummary(runSummary(rows, merged));
      if (!record) {
        // `dsi eval` reports into a run that trained in another process: W&B gets it the way that run was tracked.
        const tracked = readJsonIfExists<RunRecord>(runFile)?.wandb;
        if (tracked) await WandbSink.sendSummary({ runDir: dir, record: tracked, summary: runSummary(readMetrics(dir), merged), media: readMedia(dir), env, timeoutMs, warn });
      }
    },
    async finish() {
      if (record) {
        record.finished = new Date().toISOString();
        await saveRecord();
      }
      await wandb?.close(runSummary(rows, readSummary()));
      wandb = null;
    },
  };
}

/**
 * An image made by another command for a run (`dsi search --run R --png`: the contact sheet): kept
 * in the run folder, recorded in media.json, and sent to W&B the way the run was tracked (online:
 * uploaded with the run's summary; offline: by the next `dsi runs sync`). Never fails the caller.
 */
export async function logRunImage(runName: string, key: string, png: Buffer, options: TrackerOptions & { experimentsDir?: string } = {}): Promise<void> {
  const dir = join(options.experimentsDir ?? experimentsRoot(), runName);
  const warn = options.warn ?? defaultWarn;
  const record = readJsonIfExists<RunRecord>(join(dir, STORE_FILES.run));
  if (!record?.wandb || record.wandb.mode === 'disabled') return;
  try {
    await mkdir(join(dir, STORE_FILES.plots), { recursive: true });
    const file = join(STORE_FILES.plots, `${key.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`);
    await writeFile(join(dir, file), png);
    const media = writeMediaEntry(dir, { key, file });
    const summary = runSummary(readMetrics(dir), readJsonIfExists<Record<string, number | string>>(join(dir, STORE_FILES.summary)) ?? {});
    await WandbSink.sendSummary({ runDir: dir, record: record.wandb, summary, media, env: options.env ?? (process.env as WandbEnv), timeoutMs: options.timeoutMs ?? 5000, warn });
  } catch (e) {
    warn(`the image ${key} was not logged for run ${runName} (${(e as Error).message})`);
  }
}
