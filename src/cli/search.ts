import type { CommandModule } from 'yargs';
import { withConfigOptions, type ConfigArgs } from './options.ts';
import { BACKEND_CHOICES, type BackendChoice } from '../runtime/backend.ts';
import { runSearch } from '../eval/search.ts';
import { jsonOutput } from '../runtime/json.ts';

interface SearchArgs extends ConfigArgs {
  run?: string;
  model: 'vit' | 'bovw';
  k: number;
  images: string[];
  png?: string;
  json: boolean;
  backend: BackendChoice;
}

export const searchCommand: CommandModule<object, SearchArgs> = {
  command: 'search <images..>',
  describe: 'Rank the indexed images of a run for image files (rank, ID, score, source, class); --png draws a contact sheet',
  builder: (y) =>
    withConfigOptions(y)
      .positional('images', { type: 'string', array: true, describe: 'Query image files', demandOption: true })
      .option('run', { type: 'string', describe: 'Run whose model and corpus to use (a name, or latest; the default). With --model bovw and --config, no run is needed' })
      .option('model', { choices: ['vit', 'bovw', 'dense'] as const, default: 'vit' as const, describe: 'vit: fine-tuned checkpoint (else indexing); bovw: the baseline; dense: the dual-encoder baseline (train.dense_epochs)' })
      .option('k', { type: 'number', default: 10, describe: 'Results per query' })
      .option('png', { type: 'string', describe: 'Write a contact sheet PNG (query, then the top K; same class outlined green)' })
      .example('$0 search --model bovw --config quickstart.yaml data/samples/n03000684/ILSVRC2012_val_00002416.jpg', 'the BoVW baseline, no trained run needed')
      .option('json', { type: 'boolean', default: false, describe: 'Print the rankings as JSON' })
      .option('backend', { choices: BACKEND_CHOICES, default: 'auto' as BackendChoice, describe: 'TensorFlow.js backend' }) as never,
  handler: async (args) => {
    const r = await runSearch({
      run: args.run,
      configFile: args.config ?? null,
      overrides: args.set ?? [],
      backend: args.backend,
      model: args.model,
      k: args.k,
      images: args.images,
      png: args.png,
    });
    process.stdout.write(args.json ? jsonOutput({ queries: r.queries, png: r.pngPath }, 1) : r.text);
  },
};
