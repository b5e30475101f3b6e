import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../config/load.ts';
import { UserError } from '../runtime/errors.ts';
import type { GridRow } from './plan.ts';
import { processAlive } from '../runtime/process.ts';
import { setAsideStaleRun, staleSettings } from './stale.ts';
import { recordLostStep, startStep } from './step-record.ts';

/**
 * Runs the rows of a grid plan one after the other, each as `dsi train` -> `dsi bovw` ->
 * [`dsi eval --queries` on out-of-corpus images] -> `dsi eval`
 * in child processes whose output goes to <logDir>/<row>.log. What is done is read from the run
 * store, never from the runner's memory, so any invocation picks up where the last one stopped:
 *   eval.json present           -> the row is done, skipped
 *   checkpoints/<row>/last       -> `dsi train --resume --run <row>` (returns at once when finished)
 *   nothing                      -> `dsi train --config ... --run <row> --set ...`
 *   a run whose settings differ from the plan's (stale.ts) -> skipped and reported; with
 *                                   rerunStale, set aside under .stale/ and run afresh
 * A failing row is reported and the grid goes on with the next one. <logDir>/steps.jsonl records
 * every step's wall time (the "time per run" of the results note), a hard-killed one too (step-record.ts).
 */
export type RowState = 'done' | 'started' | 'todo' | 'stale';

export interface GridDirs {
  experiments: string;
  checkpoints: string;
  /** experiments/grid by default. */
  logs: string;
}

export function rowState(row: GridRow, dirs: GridDirs): RowState {
  if (staleSettings(row, dirs.experiments).length > 0) return 'stale';
  if (existsSync(join(dirs.experiments, row.name, 'eval.json'))) return 'done';
  if (existsSync(join(dirs.checkpoints, row.name, 'last'))) return 'started';
  return 'todo';
}

/** The dsi commands of a row in its current state (empty when done). */
export function rowCommands(row: GridRow, state: RowState): { step: string; args: string[] }[] {
  if (state === 'done' || state === 'stale') return [];
  const overrides = row.set.flatMap((s) => ['--set', s]);
  const train =
    state === 'started' ? ['train', '--resume', '--run', row.name] : ['train', '--config', row.config, '--run', row.name, ...overrides];
  const steps = [{ step: 'train', args: train }];
  if (row.bovw) steps.push({ step: 'bovw', args: ['bovw', '--config', row.config, ...overrides] });
  // Out-of-corpus first: eval.json marks the row done, so it must be the last file written.
  if (row.outOfCorpus) {
    const perClass = row.outOfCorpus.perClass === undefined ? [] : ['--queries-per-class', String(row.outOfCorpus.perClass)];
    steps.push({ step: 'eval-out-of-corpus', args: ['eval', '--run', row.name, '--protocol', 'full', '--queries', row.outOfCorpus.dir, ...perClass] });
  }
  steps.push({ step: 'eval', args: ['eval', '--run', row.name, ...row.eval] });
  return steps;
}

export interface GridRunOptions {
  dirs: GridDirs;
  /** How to start dsi: [node, bin/dsi.js] by default. */
  dsi?: string[];
  dryRun?: boolean;
  /** One line per event (row started, step finished...). */
  say?: (line: string) => void;
  /** Stop between steps (and interrupt the running step) when aborted. */
  signal?: AbortSignal;
  /** Set stale rows' runs aside (under .stale/) and run them again, instead of skipping them. */
  rerunStale?: boolean;
}

export interface GridRunResult {
  done: string[];
  skipped: string[];
  failed: string[];
  /** Rows skipped because their run's settings differ from the plan's. */
  stale: string[];
  interrupted: boolean;
}

export async function runGrid(rows: GridRow[], opts: GridRunOptions): Promise<GridRunResult> {
  const say = opts.say ?? ((l: string) => process.stdout.write(l + '\n'));
  const dsi = opts.dsi ?? [process.execPath, join(PROJECT_ROOT, 'bin', 'dsi.js')];
  const result: GridRunResult = { done: [], skipped: [], failed: [], stale: [], interrupted: false };
  mkdirSync(opts.dirs.logs, { recursive: true });
  const release = opts.dryRun ? () => {} : lockGrid(opts.dirs.logs);
  try {
    const lost = opts.dryRun ? null : recordLostStep(opts.dirs.logs);
    if (lost) say(`${lost.row}: its ${lost.step} step was killed (no exit seen); recorded ${lost.seconds.toFixed(0)} s, to its last heartbeat`);
    for (const row of rows) {
      if (opts.signal?.aborted) {
        result.interrupted = true;
        break;
      }
      let state = rowState(row, opts.dirs);
      if (state === 'stale') {
        const changed = staleSettings(row, opts.dirs.experiments);
        const shown = `${changed.slice(0, 3).join('; ')}${changed.length > 3 ? `; and ${changed.length - 3} more` : ''}`;
        if (!opts.rerunStale) {
          say(`${row.name}: STALE, skipped: its run was made with other settings than the plan's (${shown}); --rerun-stale sets it aside and runs it again`);
          result.stale.push(row.name);
          continue;
        }
        if (opts.dryRun) say(`${row.name}: stale (${shown}); would be set aside and run again`);
        else say(`${row.name}: stale (${shown}); old run set aside in ${setAsideStaleRun(row, opts.dirs).join(' and ')}`);
        state = 'todo';
      }
      if (state === 'done') {
        say(`${row.name}: done (eval.json present), skipped`);
        result.skipped.push(row.name);
        continue;
      }
      const log = join(opts.dirs.logs, `${row.name}.log`);
      say(`${row.name}: ${state === 'started' ? 'resuming' : 'starting'} (log ${log})`);
      let ok = true;
      for (const { step, args } of rowCommands(row, state)) {
        if (opts.dryRun) {
          say(`  dsi ${args.map(shellQuote).join(' ')}`);
          continue;
        }
        appendFileSync(log, `\n===== ${new Date().toISOString()} dsi ${args.map(shellQuote).join(' ')}\n`);
        const record = startStep(opts.dirs.logs, row.name, step);
        let code: number;
        try {
          code = await runLogged(dsi, args, log, opts.signal);
        } catch (err) {
          record(1); // could not start: a failed step, not one for the next runner to count as killed
          throw err;
        }
        const { seconds } = record(code);
        say(`  ${step}: ${code === 0 ? 'ok' : `exit ${code}`} in ${seconds.toFixed(1)} s`);
        if (opts.signal?.aborted) {
          result.interrupted = true;
          break;
        }
        if (code !== 0) {
          ok = false;
          say(`${row.name}: FAILED at ${step}; see ${log}`);
          break;
        }
      }
      if (result.interrupted) break;
      if (opts.dryRun) continue;
      (ok ? result.done : result.failed).push(row.name);
    }
  } finally {
    release();
  }
  if (result.interrupted) say('grid interrupted; run the same command again to resume');
  return result;
}

/**
 * One child at a time, output appended to `log`; an abort asks it to stop after its step (SIGINT).
 * The child's stderr is the file, so its progress comes as plain lines (one per training epoch,
 * one per finished bar with its rate): `tail -f` on a row's log shows where a long run is.
 */
function runLogged(dsi: string[], args: string[], log: string, signal?: AbortSignal): Promise<number> {
  const fd = openSync(log, 'a');
  return new Promise<number>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(dsi[0], [...dsi.slice(1), ...args], {
        stdio: ['ignore', fd, fd],
        env: process.env,
      });
    } catch (err) {
      closeSync(fd);
      return reject(err);
    }
    const onAbort = () => child.kill('SIGINT');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      closeSync(fd);
      reject(err);
    });
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      closeSync(fd);
      resolve(code ?? (sig ? 128 + 2 : 1));
    });
  });
}

/** The pid of the grid runner working in `logs`, when one is alive. */
export function liveRunnerPid(logs: string): number | null {
  const file = join(logs, 'runner.pid');
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return pid && processAlive(pid) ? pid : null;
}

/** One runner per grid folder: a second one would train the same rows twice. */
function lockGrid(logs: string): () => void {
  const file = join(logs, 'runner.pid');
  const pid = liveRunnerPid(logs);
  if (pid !== null && pid !== process.pid) {
    throw new UserError(`a grid runner (pid ${pid}) is already working in ${logs}; wait for it, or stop it with: kill ${pid}`);
  }
  writeFileSync(file, String(process.pid));
  return () => {
    try {
      if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
    } catch {
      // already gone
    }
  };
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
