/**
 * Which run a command means: a fresh name, `latest`, the run to resume, or the run to branch from
 * (`dsi train --from`), with the config it continues under.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { loadConfigOrDefault } from '../config/load.ts';
import type { DsiConfig } from '../config/schema.ts';
import { UserError } from '../runtime/errors.ts';
import { shownPath as shown, type Log } from '../runtime/log.ts';
import { checkpointsRoot } from '../runtime/paths.ts';
import { assertRunName, CHECKPOINT_KINDS, loadCheckpoint, type LoadedCheckpoint } from './checkpoint.ts';
import { configForRun, trainingChanges } from './config.ts';
import { assertNotLocked } from './lock.ts';

/**
 * `<config-name>-<yyyymmdd-hhmmss>-<6 hex>` in local time. The random suffix keeps the runs of a
 * sweep started in a shell loop (several in one second) in folders of their own; names still
 * sort by time.
 */
export function defaultRunName(configFile: string | null, now = new Date()): string {
  const name = configFile ? basename(configFile).replace(/\.ya?ml$/i, '') : 'default';
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return `${name}-${stamp}-${randomBytes(3).toString('hex')}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** A run folder holds a run once it has a checkpoint; a lone `.lock` or `.tmp-*` left by a crash does not count. */
function hasCheckpoints(runDir: string): boolean {
  return existsSync(runDir) && readdirSync(runDir).some((n) => n !== '.lock' && !n.startsWith('.tmp-'));
}

/**
 * What a command needs of the run `latest` stands for: `model` (eval, search: a trained model, i.e.
 * an indexing checkpoint), `indexing` (`--from latest`: the same checkpoint, to branch from),
 * `unfinished` (`--resume latest`: a run whose last checkpoint has phases left to train).
 */
export type LatestNeed = 'model' | 'indexing' | 'unfinished';

const NEEDS: Record<LatestNeed, { option: string; lacks: string }> = {
  model: { option: 'latest', lacks: 'a trained model (an indexing checkpoint)' },
  indexing: { option: '--from latest', lacks: 'an indexing checkpoint' },
  unfinished: { option: '--resume latest', lacks: 'phases left to train' },
};

const firstExisting = (dir: string, kind: string) => [kind, `.old-${kind}`].map((k) => join(dir, k)).find((d) => existsSync(join(d, 'checkpoint.json'))) ?? null;

/** Whether a run's checkpoints give the command what it needs. */
async function runHas(dir: string, need: LatestNeed): Promise<boolean> {
  if (need !== 'unfinished') return firstExisting(dir, 'indexing') !== null;
  const last = firstExisting(dir, 'last');
  if (!last) return false;
  try {
    const trainer = JSON.parse(await readFile(join(last, 'trainer.json'), 'utf8')) as { phase?: string };
    return trainer.phase !== 'done';
  } catch {
    return false;
  }
}

/**
 * The newest run (by its most recent checkpoint) that has what the command needs: after an
 * interrupted run, `dsi eval` still finds the newest trained model, and `--resume latest` skips
 * runs that have finished.
 */
export async function latestRun(root = checkpointsRoot(), need: LatestNeed = 'unfinished'): Promise<string> {
  const candidates: { run: string; mtime: number }[] = [];
  const runs = existsSync(root) ? await readdir(root, { withFileTypes: true }) : [];
  let skipped = 0;
  for (const d of runs) {
    if (!d.isDirectory() || d.name.startsWith('.')) continue;
    let mtime = -Infinity;
    for (const kind of CHECKPOINT_KINDS) {
      const found = firstExisting(join(root, d.name), kind);
      if (found) mtime = Math.max(mtime, (await stat(join(found, 'checkpoint.json'))).mtimeMs);
    }
    if (mtime === -Infinity) continue;
    candidates.push({ run: d.name, mtime });
  }
  candidates.sort((a, b) => b.mtime - a.mtime || b.run.localeCompare(a.run));
  for (const c of candidates) {
    if (await runHas(join(root, c.run), need)) return c.run;
    skipped++;
  }
  const { option, lacks } = NEEDS[need];
  if (!candidates.length) throw new UserError(`${option}: no run with a checkpoint in ${shown(root)}/`);
  throw new UserError(`${option}: none of the ${skipped} run(s) in ${shown(root)}/ has ${lacks}`);
}

/** A run to evaluate: by name, or the newest run with a trained model (`latest` or none given). */
export async function resolveRunName(run: string | undefined, root: string): Promise<string> {
  if (run && run !== 'latest') return run;
  try {
    return await latestRun(root, 'model');
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`no trained run in ${shown(root)}/ (${e.message}): \`dsi train --config configs/quickstart.yaml\` trains one`);
    throw e;
  }
}

export interface TrainingRunRequest {
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
}

export interface ResolvedTrainingRun {
  runName: string;
  config: DsiConfig;
  /** The verified checkpoint to continue from: the run's `last`, or the source's `indexing` for a branch. */
  resumeFrom: LoadedCheckpoint | null;
  /** Set for a branch: the run it starts from. */
  branchedFrom?: string;
}

/** The three ways `dsi train` starts: fresh, --resume, or --from (a branch). */
export async function resolveTrainingRun(req: TrainingRunRequest, root: string, log: Log): Promise<ResolvedTrainingRun> {
  const overrides = req.overrides ?? [];
  const changes = { configFile: req.configFile ?? null, overrides };
  if (req.from !== undefined && req.resume !== undefined) throw new UserError('--from starts a new run and --resume continues one: use one of them');
  if (req.from !== undefined) {
    const branchedFrom = req.from === 'latest' ? await latestRun(root, 'indexing') : req.from;
    const resumeFrom = await loadCheckpoint(branchedFrom, 'indexing', root);
    const config = configForRun(resumeFrom.config, changes);
    for (const line of trainingChanges(resumeFrom.config, config, `in "${branchedFrom}"`)) log(`note: ${line}`);
    const runName = req.run ?? `${branchedFrom}-branch-${defaultRunName(null).slice('default-'.length)}`;
    assertRunName(runName);
    assertNotLocked(join(root, runName));
    if (hasCheckpoints(join(root, runName))) throw new UserError(`run "${runName}" already has checkpoints in ${join(root, runName)}: pick another --run`);
    return { runName, config, resumeFrom, branchedFrom };
  }
  if (req.resume !== undefined) {
    const asked = req.resume === '' ? req.run : req.resume;
    if (!asked) throw new UserError('--resume needs a run: --resume latest, --resume NAME, or --resume with --run NAME');
    if (req.run && req.resume !== '' && req.run !== req.resume) {
      throw new UserError(`--resume ${req.resume} and --run ${req.run} name different runs`);
    }
    const runName = asked === 'latest' ? await latestRun(root, 'unfinished') : asked;
    assertRunName(runName);
    assertNotLocked(join(root, runName));
    const resumeFrom = await loadCheckpoint(runName, 'last', root);
    const config = configForRun(resumeFrom.config, changes);
    for (const line of trainingChanges(resumeFrom.config, config)) log(`note: ${line}`);
    return { runName, config, resumeFrom };
  }
  const loaded = loadConfigOrDefault(req.configFile, overrides, log);
  const runName = req.run ?? defaultRunName(loaded.file);
  assertRunName(runName);
  assertNotLocked(join(root, runName));
  if (hasCheckpoints(join(root, runName))) {
    throw new UserError(`run "${runName}" already has checkpoints in ${join(root, runName)}: continue it with --resume --run ${runName}, or pick another --run`);
  }
  return { runName, config: loaded.config, resumeFrom: null };
}
