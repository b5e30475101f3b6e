import { writeFile } from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import { experimentsRoot } from '../runtime/paths.ts';
import { buildResultsTable, readEvalReport, type TableFormat } from '../track/table.ts';
import { renderResultsTable } from '../track/table-render.ts';
import { renderPng } from '../track/plots/render.ts';
import { scalingSpec } from '../track/plots/scaling.ts';
import { UserError } from '../runtime/errors.ts';
import { runsCompareText, runsListText, runsPlotText, runsSyncText } from '../track/commands.ts';
import type { WandbEnv } from '../track/wandb/sink.ts';

const dirOption = <T>(y: Argv<T>) =>
  y.option('experiments', { type: 'string', describe: 'The local run store', defaultDescription: 'experiments/ under the output root' });

export const runsCommand: CommandModule = {
  command: 'runs <command>',
  describe: 'List, compare, tabulate and sync runs in the local run store (experiments/<run>/)',
  builder: (y) =>
    y
      .command({
        command: 'list',
        describe: 'One line per run: date, dataset, DB size, IDs, phases done, IA@1, MAP@10, R@100',
        builder: (a) => dirOption(a).option('json', { type: 'boolean', default: false, describe: 'JSON for scripts' }),
        handler: (a) => void process.stdout.write(runsListText((a.experiments as string | undefined) ?? experimentsRoot(), a.json as boolean)),
      })
      .command({
        command: 'compare <runs..>',
        describe: 'Config keys that differ and metrics side by side (two or more runs)',
        builder: (a) =>
          dirOption(a)
            .positional('runs', { type: 'string', array: true, describe: 'run names' })
            .option('json', { type: 'boolean', default: false, describe: 'JSON for scripts' })
            .option('png', { type: 'string', describe: 'Also write the overlaid training curves to this PNG' }),
        handler: async (a) => {
          process.stdout.write(await runsCompareText((a.experiments as string | undefined) ?? experimentsRoot(), a.runs as string[], { json: a.json as boolean, png: a.png as string | undefined }));
        },
      })
      .command({
        command: 'table <runs..>',
        describe: 'The results grid of these runs (their eval.json): one row per model, grouped by dataset and DB size, with 95% intervals',
        builder: (a) =>
          dirOption(a)
            .positional('runs', { type: 'string', array: true, describe: 'run names (or run folders, or eval.json files)' })
            .option('format', { choices: ['md', 'csv', 'tex'] as const, default: 'md' as const, describe: 'Markdown, CSV or LaTeX (booktabs)' })
            .option('out', { type: 'string', describe: 'Write the table to this file instead of stdout' })
            .option('plot', { type: 'string', describe: 'Also write P@10 (test split, out-of-corpus) and IA@1 against DB size, per model, to this PNG' }),
        handler: async (a) => {
          const runs = a.runs as string[];
          if (!runs?.length) throw new UserError('dsi runs table needs at least one run');
          const dir = (a.experiments as string | undefined) ?? experimentsRoot();
          const table = buildResultsTable(runs.map((r) => readEvalReport(dir, r)));
          const text = renderResultsTable(table, a.format as TableFormat);
          if (a.plot) {
            await writeFile(a.plot as string, await renderPng(scalingSpec(table)));
            process.stderr.write(`plot: ${a.plot}\n`);
          }
          if (a.out) {
            await writeFile(a.out as string, text);
            process.stderr.write(`table: ${a.out}\n`);
          } else process.stdout.write(text);
        },
      })
      .command({
        command: 'plot <runs..>',
        describe: "Redraw each run's training curves (plots/<phase>-curves.png) from its metrics.jsonl",
        builder: (a) => dirOption(a).positional('runs', { type: 'string', array: true, describe: 'run names' }),
        handler: async (a) => {
          process.stdout.write(await runsPlotText((a.experiments as string | undefined) ?? experimentsRoot(), (a.runs as string[] | undefined) ?? []));
        },
      })
      .command({
        command: 'sync <run>',
        describe: 'Upload a local run (offline or never tracked) to W&B: needs WANDB_API_KEY (WANDB_BASE_URL, WANDB_PROJECT, WANDB_ENTITY respected)',
        builder: (a) => dirOption(a).positional('run', { type: 'string', demandOption: true }),
        handler: async (a) => {
          process.stdout.write(await runsSyncText((a.experiments as string | undefined) ?? experimentsRoot(), a.run as string, process.env as WandbEnv));
        },
      })
      .demandCommand(1, 'Name a runs command: list, compare, table, plot or sync.'),
  handler: () => {},
};
