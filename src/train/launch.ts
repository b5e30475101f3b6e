/**
 * What `dsi train` does before and after the training loop: pick the backend, resolve the run
 * name and config (fresh, or from the run's last checkpoint on --resume), prepare the corpus,
 * refuse a checkpoint that does not fit, and report where things went.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { applyOverride, loadConfig, validateConfig } from '../config/load.ts';
import type { DsiConfig } from '../config/schema.ts';
import { prepareCorpus, shortfallWarning } from '../data/corpus.ts';
import { initBackend, type BackendChoice } from '../runtime/backend.ts';
import { UserError } from '../runtime/errors.ts';
import { createTracker, EXPERIMENTS_DIR } from '../track/tracker.ts';
import { assertCompatible, assertRunName, CHECKPOINTS_DIR, latestRun, loadCheckpoint, saveCheckpoint, type LoadedCheckpoint } from './checkpoint.ts';
import { seedBranchStore } from '../track/branch.ts';
import { modelShapeOf, trainRun, type TrainRunResult } from './trainer.ts';

export interface LaunchOptions {
  configFile?: string | null;
  overrides?: string[];
  run?: string;
  /** undefined: a fresh run. '' (bare --resume): continue --run. 'latest' or a run name. */
  resume?: string;
  /**
   * Branch: a new run whose phase 2 starts from another run's indexing checkpoint (phase 1 is
   * not trained again), e.g. to compare phase-2 settings on one memorised index.
   */
  from?: string;
  backend?: BackendChoice;
  checkpointsDir?: string;
  experimentsDir?: string;
  cacheRoot?: string;
  signal?: AbortSignal;
  stopAfterEpochs?: number;
  /** Status lines (default: stderr, keeping stdout for results). */
  log?: (line: string) => void;
}

export interface LaunchResult extends TrainRunResult {
  runName: string;
  backend: string;
  checkpointsDir: string;
}

/** `<config-name>-<yyyymmdd-hhmmss>` in local time. */
export function defaultRunName(configFile: string | null, now = new Date()): string {
  const name = configFile ? basename(configFile).replace(/\.ya?ml$/i, '') : 'default';
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return `${name}-${stamp}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

export async function launchTraining(opts: LaunchOptions): Promise<LaunchResult> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const root = opts.checkpointsDir ?? CHECKPOINTS_DIR;
  const overrides = opts.overrides ?? [];

  let runName: string;
  let config: DsiConfig;
  let resumeFrom: LoadedCheckpoint | null = null;
  let branchedFrom: string | undefined;
  if (opts.from !== undefined && opts.resume !== undefined) throw new UserError('--from starts a new run and --resume continues one: use one of them');
  if (opts.from !== undefined) {
    branchedFrom = opts.from === 'latest' ? await latestRun(root) : opts.from;
    resumeFrom = await loadCheckpoint(branchedFrom, 'indexing', root);
    config = opts.configFile ? loadConfig(opts.configFile, overrides).config : withOverrides(resumeFrom.config, overrides);
    for (const line of trainingChanges(resumeFrom.config, config, `in "${branchedFrom}"`)) log(`note: ${line}`);
    runName = opts.run ?? `${branchedFrom}-branch-${defaultRunName(null).slice('default-'.length)}`;
    assertRunName(runName);
    if (existsSync(join(root, runName))) throw new UserError(`run "${runName}" already has checkpoints in ${join(root, runName)}: pick another --run`);
  } else if (opts.resume !== undefined) {
    const asked = opts.resume === '' ? opts.run : opts.resume;
    if (!asked) throw new UserError('--resume needs a run: --resume latest, --resume NAME, or --resume with --run NAME');
    if (opts.run && opts.resume !== '' && opts.run !== opts.resume) {
      throw new UserError(`--resume ${opts.resume} and --run ${opts.run} name different runs`);
    }
    runName = asked === 'latest' ? await latestRun(root) : asked;
    resumeFrom = await loadCheckpoint(runName, 'last', root);
    config = opts.configFile ? loadConfig(opts.configFile, overrides).config : withOverrides(resumeFrom.config, overrides);
    for (const line of trainingChanges(resumeFrom.config, config)) log(`note: ${line}`);
  } else {
    const loaded = loadConfig(opts.configFile ?? null, overrides);
    config = loaded.config;
    runName = opts.run ?? defaultRunName(loaded.file);
    assertRunName(runName);
    if (existsSync(join(root, runName))) {
      throw new UserError(`run "${runName}" already has checkpoints in ${join(root, runName)}: continue it with --resume --run ${runName}, or pick another --run`);
    }
  }

  const backend = await initBackend(opts.backend ?? 'auto');
  log(`backend: ${backend}`);
  const corpus = await prepareCorpus(config.data, { cacheRoot: opts.cacheRoot });
  log(
    `corpus ${corpus.hash}: ${corpus.records.length} images (${corpus.indexedRows.length} indexed, ` +
      `${corpus.records.length - corpus.indexedRows.length} queries), ${corpus.imageSize}px, IDs of ${corpus.idLength} digits` +
      (corpus.reused ? ' (cached)' : ''),
  );
  const shortfall = shortfallWarning(corpus, config.data);
  if (shortfall) log(`warning: ${shortfall}`);
  if (resumeFrom) assertCompatible(resumeFrom, config, corpus.hash, modelShapeOf(corpus));
  if (branchedFrom && resumeFrom) {
    // The branch owns a copy of the index it starts from, so `dsi eval` finds its zero-shot row.
    await saveCheckpoint(runName, 'indexing', { ...resumeFrom, config }, root);
    seedBranchStore(opts.experimentsDir ?? EXPERIMENTS_DIR, branchedFrom, runName);
    log(`run: ${runName}, phase 2 from the indexing checkpoint of "${branchedFrom}" (${resumeFrom.trainer.indexingEpochsRun} epochs, exact-ID accuracy ${resumeFrom.trainer.indexingAccuracy?.toFixed(4)})`);
  } else if (resumeFrom) {
    if (resumeFrom.trainer.phase === 'done') {
      log(`run "${runName}" has already finished both phases; nothing to resume`);
      return { runName, backend, checkpointsDir: join(root, runName), state: resumeFrom.trainer, completed: true, epochsThisCall: 0, checkpointsWritten: [] };
    }
    log(`resuming run "${runName}" at ${resumeFrom.trainer.phase} epoch ${resumeFrom.trainer.epoch + 1} (step ${resumeFrom.trainer.step})`);
  } else {
    log(`run: ${runName}`);
  }

  const tracker = createTracker(runName, opts.experimentsDir);
  const result = await trainRun({
    config,
    corpus,
    runName,
    backend,
    tracker,
    checkpointsDir: root,
    resumeFrom,
    branchedFrom,
    signal: opts.signal,
    stopAfterEpochs: opts.stopAfterEpochs,
    log,
  });
  return { ...result, runName, backend, checkpointsDir: join(root, runName) };
}

/** `--resume --set train.indexing_epochs=400` applies to the checkpoint's own config. */
function withOverrides(base: DsiConfig, overrides: string[]): DsiConfig {
  const raw = structuredClone(base) as unknown as Record<string, unknown>;
  const overridden = new Set(overrides.map((o) => applyOverride(raw, o)));
  return validateConfig(raw, null, overridden);
}

/** Training keys may change on resume (e.g. more epochs), but the user should see that they did. */
function trainingChanges(before: DsiConfig, after: DsiConfig, where = 'on resume'): string[] {
  const out: string[] = [];
  for (const section of ['train', 'decode', 'eval', 'tracking'] as const) {
    const a = before[section] as Record<string, unknown>;
    const b = after[section] as Record<string, unknown>;
    for (const key of Object.keys(b)) {
      if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) {
        out.push(`${section}.${key} changed ${where}: checkpoint ${JSON.stringify(a[key])}, now ${JSON.stringify(b[key])}`);
      }
    }
  }
  return out;
}
