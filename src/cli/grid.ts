import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { loadPlan, selectRows } from '../grid/plan.ts';
import { liveRunnerPid, rowState, runGrid, type GridDirs } from '../grid/runner.ts';
import { readRunningStep } from '../grid/step-record.ts';
import { formatDuration } from '../runtime/progress.ts';
import { formatTable } from '../runtime/table.ts';
import { UserError } from '../runtime/errors.ts';
import { checkpointsRoot, experimentsRoot } from '../runtime/paths.ts';

interface GridArgs {
  plan: string;
  rows: string[];
  var: string[];
  list: boolean;
  'dry-run': boolean;
  background: boolean;
  'rerun-stale': boolean;
  logs?: string;
}

export const gridCommand: CommandModule<object, GridArgs> = {
  command: 'grid',
  describe: 'Run the rows of a grid plan (train, BoVW index, eval per row); skips rows with eval.json, resumes interrupted ones',
  builder: (y) =>
    y
      .option('plan', { type: 'string', demandOption: true, describe: 'Grid plan (YAML), e.g. configs/grid.yaml' })
      .option('rows', { type: 'string', array: true, default: [] as string[], describe: 'Only these rows (names; * matches any text)' })
      .option('var', { type: 'string', array: true, default: [] as string[], describe: 'Set a plan variable: --var DATA=/path/to/data' })
      .option('list', { type: 'boolean', default: false, describe: 'List the rows, their state (done, started, todo, stale: run with other settings than the plan\'s) and whether experiments/results holds their result; run nothing' })
      .option('rerun-stale', { type: 'boolean', default: false, describe: 'Set stale rows\' runs aside (experiments/.stale/, checkpoints/.stale/) and run them again' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Print the dsi commands each row would run' })
      .option('background', { type: 'boolean', default: false, describe: 'Detach and run in the background; output in <logs>/grid.log' })
      .option('logs', { type: 'string', describe: 'Folder of the row logs', defaultDescription: 'experiments/grid' }) as never,
  handler: async (args) => {
    const vars = Object.fromEntries(
      args.var.map((v) => {
        const i = v.indexOf('=');
        if (i <= 0) throw new UserError(`--var ${v}: expected NAME=VALUE`);
        return [v.slice(0, i), v.slice(i + 1)];
      }),
    );
    const rows = selectRows(loadPlan(args.plan, vars), args.rows);
    const dirs: GridDirs = { experiments: experimentsRoot(), checkpoints: checkpointsRoot(), logs: resolve(args.logs ?? join(experimentsRoot(), 'grid')) };
    if (args.list) {
      // The repository's copies (scripts/collect-grid.ts): a fresh clone has none of the runs but
      // all of the published rows, so "todo" alone would read as "no result exists".
      const published = (r: { name: string }) => (existsSync(join(dirs.experiments, 'results', r.name, 'eval.json')) ? 'yes' : '-');
      // What the runner is doing (or was doing when it was killed), from its step heartbeat.
      const running = readRunningStep(dirs.logs);
      const runner = liveRunnerPid(dirs.logs);
      const now = (r: { name: string }) => {
        if (running?.row !== r.name) return '-';
        if (runner === null) return `killed-in-${running.step}`;
        return `${running.step}-for-${formatDuration((Date.now() - Date.parse(running.started)) / 1000).replace(/ /g, '')}`;
      };
      process.stdout.write(
        formatTable(['row', 'state', 'published', 'now', 'config', 'overrides'], rows.map((r) => [r.name, rowState(r, dirs), published(r), now(r), r.config, r.set.join(' ')])),
      );
      process.stdout.write('published: the row\'s result is in experiments/results/ (committed); running the row makes a new run beside it\n');
      if (running && runner === null) process.stdout.write(`now: killed-in-STEP: no runner is alive; the same dsi grid command resumes ${running.row} from its last checkpoint\n`);
      return;
    }
    if (args.background) {
      mkdirSync(dirs.logs, { recursive: true });
      const out = openSync(join(dirs.logs, 'grid.log'), 'a');
      const argv = process.argv.slice(1).filter((a) => a !== '--background');
      const child = spawn(process.execPath, argv, { detached: true, stdio: ['ignore', out, out], env: process.env });
      child.unref();
      process.stdout.write(
        `grid running in the background (pid ${child.pid}): ${rows.length} rows\n` +
          `  progress: ${join(dirs.logs, 'grid.log')}; one log per row in ${dirs.logs}/<row>.log\n` +
          `  stop: kill ${child.pid} (the running step stops after its current training step; run the same command to resume)\n`,
      );
      return;
    }
    const controller = new AbortController();
    const stop = (sig: string) => () => {
      if (controller.signal.aborted) process.exit(130);
      process.stderr.write(`\ndsi grid: ${sig}, stopping the current step (again to quit now)\n`);
      controller.abort();
    };
    const onInt = stop('SIGINT');
    const onTerm = stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    try {
      const say = (l: string) => process.stdout.write(`[${new Date().toISOString().slice(0, 19)}] ${l}\n`);
      const r = await runGrid(rows, { dirs, dryRun: args['dry-run'], signal: controller.signal, say, rerunStale: args['rerun-stale'] });
      if (!args['dry-run']) say(`grid: ${r.done.length} rows run, ${r.skipped.length} already done, ${r.stale.length} stale (skipped), ${r.failed.length} failed${r.failed.length ? ` (${r.failed.join(', ')})` : ''}`);
      if (r.failed.length) process.exitCode = 1;
      if (r.interrupted) process.exitCode = 130;
    } finally {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    }
  },
};
