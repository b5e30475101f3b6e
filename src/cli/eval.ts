import type { CommandModule } from 'yargs';
import { withConfigOptions, type ConfigArgs } from './options.ts';
import { BACKEND_CHOICES, type BackendChoice } from '../runtime/backend.ts';
import { runEvaluation } from '../eval/evaluate.ts';
import { shownPath } from '../runtime/log.ts';
import { jsonOutput } from '../runtime/json.ts';

interface EvalArgs extends ConfigArgs {
  run: string;
  protocol?: 'reference' | 'full' | 'both';
  json: boolean;
  queries?: string;
  'queries-per-class'?: number;
  backend: BackendChoice;
  'skip-bovw': boolean;
  split: 'test' | 'val';
}

export const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval',
  describe: 'Evaluate BoVW, zero-shot and fine-tuned ViT on the same test queries; writes experiments/<run>/eval.{json,md}',
  builder: (y) =>
    withConfigOptions(y)
      .option('run', { type: 'string', default: 'latest', describe: 'Run to evaluate (a name, or latest)' })
      .option('protocol', {
        choices: ['reference', 'full', 'both'] as const,
        describe: "reference: the notebook's sampled numbers; full: all test queries with 95% CIs (default: eval.protocol)",
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print eval.json on stdout instead of the table' })
      .option('queries', { type: 'string', describe: 'Query images from DIR/<class>/<image> instead of the test split; written to eval-queries-<DIR>-<hash>.{json,md}, the run\'s eval.json and summary stay' })
      .option('queries-per-class', { type: 'number', describe: 'With --queries: at most N images per class, drawn with eval.seed (images in the corpus never count)' })
      .option('split', { choices: ['test', 'val'] as const, default: 'test' as const, describe: 'Corpus queries to score: test, or val (to choose decode settings such as decode.flip_average without the test queries; written to eval-val.{json,md})' })
      .option('skip-bovw', { type: 'boolean', default: false, describe: 'Leave out the BoVW row even when its index exists' })
      .option('backend', { choices: BACKEND_CHOICES, default: 'auto' as BackendChoice, describe: 'TensorFlow.js backend' }) as never,
  handler: async (args) => {
    const { report, markdown, files } = await runEvaluation({
      run: args.run,
      configFile: args.config ?? null,
      overrides: args.set ?? [],
      backend: args.backend,
      protocol: args.protocol,
      queriesDir: args.queries,
      queriesPerClass: args['queries-per-class'],
      skipBovw: args['skip-bovw'],
      split: args.split,
    });
    if (args.json) process.stdout.write(jsonOutput(report, 1));
    else process.stdout.write(`${markdown}\nwritten: ${files.map(shownPath).join(', ')}\n`);
  },
};
