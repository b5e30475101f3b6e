import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../runtime/errors.ts';
import { readJsonIfExists, readMedia, readMetrics, readRun, STORE_FILES, type RunRecord } from '../store.ts';
import { WandbUnavailable } from './graphql.ts';
import { OFFLINE_FILES, offlineDir, type OfflineRunFile } from './offline.ts';
import { OnlineWandbRun } from './online.ts';
import { flattenConfig, historyRow, runSummary, wandbIdentity, type WandbIdentity } from './payload.ts';
import { endpointFromEnv, type WandbEnv } from './sink.ts';
import { writeFile } from 'node:fs/promises';

/** What one upload sends; built from wandb-offline/ when the run recorded it, else from the store. */
interface UploadPlan {
  identity: WandbIdentity;
  config: Record<string, unknown>;
  commit: string;
  history: Array<Record<string, number>>;
  summary: Record<string, number | string>;
  source: string;
}

/** Where the run goes: the recorded identity, with WANDB_PROJECT / WANDB_ENTITY overriding only when set. */
function withEnvOverrides(identity: WandbIdentity, env: WandbEnv): WandbIdentity {
  return { ...identity, project: env.WANDB_PROJECT || identity.project, entity: env.WANDB_ENTITY || identity.entity };
}

function planFromOffline(runDir: string, env: WandbEnv): UploadPlan | null {
  const dir = offlineDir(runDir);
  const run = readJsonIfExists<OfflineRunFile>(join(dir, OFFLINE_FILES.run));
  if (!run) return null;
  const historyPath = join(dir, OFFLINE_FILES.history);
  const lines = existsSync(historyPath)
    ? readFileSync(historyPath, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, number>)
    : [];
  // The upload numbers rows from 0. A file whose steps are not 0..n-1 (written by a dsi that only
  // appended a resumed segment or a branch's own rows) would land on the wrong lines: the store's
  // metrics.jsonl has every row, so it is the history then.
  const complete = lines.every((l, i) => l._step === i);
  const history = complete ? lines.map(({ _step, ...row }) => row) : readMetrics(runDir).map(historyRow);
  const summary = readJsonIfExists<Record<string, number | string>>(join(dir, OFFLINE_FILES.summary)) ?? {};
  return { identity: withEnvOverrides(run.identity, env), config: run.config, commit: run.commit, history, summary, source: complete ? dir : join(runDir, STORE_FILES.metrics) };
}

function planFromStore(experimentsDir: string, name: string, env: WandbEnv): UploadPlan {
  const run = readRun(experimentsDir, name);
  if (!run.config) throw new UserError(`run "${name}" has no ${STORE_FILES.config} in ${run.dir}: nothing to upload`);
  const commit = run.record?.git_commit ?? 'unknown';
  // Group and tags come from the config; id, project and entity from where the run was tracked.
  const fromConfig = wandbIdentity(name, run.config, {});
  const recorded = run.record?.wandb;
  const identity = recorded ? { ...fromConfig, id: recorded.id || fromConfig.id, project: recorded.project || fromConfig.project, entity: recorded.entity ?? fromConfig.entity } : fromConfig;
  return {
    identity: withEnvOverrides(identity, env),
    config: { ...flattenConfig(run.config), 'run.corpus_hash': run.record?.corpus_hash, 'run.backend': run.record?.backend, 'run.git_commit': commit },
    commit,
    history: run.metrics.map(historyRow),
    summary: runSummary(run.metrics, run.summary),
    source: run.dir,
  };
}

/** `dsi runs sync <run>`: upload a local run (offline, fallen back, or never tracked) to W&B. */
export async function syncRun(experimentsDir: string, name: string, env: WandbEnv, timeoutMs = 10_000): Promise<{ identity: WandbIdentity; rows: number; source: string; url: string }> {
  const runDir = join(experimentsDir, name);
  const plan = planFromOffline(runDir, env) ?? planFromStore(experimentsDir, name, env);
  const runFile = join(runDir, STORE_FILES.run);
  const record = readJsonIfExists<RunRecord>(runFile);
  // The server the run was tracked on, unless WANDB_BASE_URL says otherwise.
  const ep = endpointFromEnv({ ...env, WANDB_BASE_URL: env.WANDB_BASE_URL || record?.wandb?.base_url }, timeoutMs);
  if (!ep) throw new UserError('WANDB_API_KEY is not set: `dsi runs sync` needs a W&B API key (and WANDB_BASE_URL for a self-hosted server)');
  const problems: string[] = [];
  let run: OnlineWandbRun;
  try {
    run = await OnlineWandbRun.open(ep, plan.identity, plan.config, plan.commit, (m) => problems.push(m));
  } catch (e) {
    if (e instanceof WandbUnavailable) throw new UserError(`could not sync run "${name}": ${e.message}`);
    throw e;
  }
  // Each row keeps the `_timestamp` it was recorded with (rows of older dsi versions have none: now).
  plan.history.forEach((row, step) => run.log(row, step));
  const images = await run.logImages(runDir, readMedia(runDir).filter((m) => existsSync(join(runDir, m.file))));
  await run.close({ ...plan.summary, ...images });
  if (problems.length) throw new UserError(`sync of run "${name}" is incomplete: ${problems[0]}`);

  if (record) {
    record.wandb = { ...(record.wandb ?? { mode: 'offline' }), id: run.identity.id, project: run.identity.project, entity: run.identity.entity, base_url: ep.baseUrl, url: run.url, synced_at: new Date().toISOString() };
    await writeFile(runFile, JSON.stringify(record, null, 2) + '\n');
  }
  return { identity: run.identity, rows: plan.history.length, source: plan.source, url: run.url };
}
