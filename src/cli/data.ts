import type { CommandModule } from 'yargs';
import { relative } from 'node:path';
import { prepareCorpus, shortfallWarning, summarizeCorpus } from '../data/corpus.ts';
import { jsonOutput } from '../runtime/json.ts';
import { configFromArgs, withConfigOptions, type ConfigArgs } from './options.ts';
import { assertWritable, cacheRoot } from '../runtime/paths.ts';

/** Skipped files printed by name; the rest are counted (all of them are in the manifest). */
const SKIPPED_SHOWN = 10;

interface Args extends ConfigArgs {
  json?: boolean;
  force?: boolean;
}

export const dataCommand: CommandModule<object, Args> = {
  command: 'data',
  describe: 'Build (or reuse) the image corpus cache and print a summary',
  builder: (y) =>
    withConfigOptions(y)
      .option('json', { type: 'boolean', describe: 'Print the summary as JSON on stdout' })
      .option('force', { type: 'boolean', describe: 'Rebuild the cache even when a complete one exists' })
      .example('$0 data --config quickstart.yaml', 'the embedded 400-image default')
      .example(
        '$0 data --config imagenette.yaml --set data.source=folder --set data.root=../shared/data/imagenette-224/train',
        'Imagenette from a local ImageFolder copy',
      ) as never,
  handler: async (args) => {
    const { config } = configFromArgs(args);
    assertWritable(cacheRoot(), 'data cache');
    const corpus = await prepareCorpus(config.data, { force: args.force });
    const summary = summarizeCorpus(corpus);
    const report = {
      ...summary,
      requestedImages: corpus.requestedImages,
      hash: corpus.hash,
      cachePath: corpus.cachePath,
      reused: corpus.reused,
      seconds: +corpus.seconds.toFixed(2),
      skippedFiles: corpus.skipped,
    };
    const shortfall = shortfallWarning(corpus, config.data);
    if (shortfall) process.stderr.write(`warning: ${shortfall}\n`);
    if (summary.queriesWithoutRelevant > 0) {
      process.stderr.write(`warning: ${summary.queriesWithoutRelevant} queries have no relevant indexed image (no indexed image shares a class with them)\n`);
    }
    if (args.json) return void process.stdout.write(jsonOutput(report));
    const q = summary.queries;
    const lines: [string, string | number][] = [
      ['images', summary.images],
      ['classes', summary.classes],
      ['indexed', summary.indexed],
      ['queries', `${q.train + q.val + q.test} (train ${q.train} / val ${q.val} / test ${q.test})`],
      ['mean relevant/query', summary.meanRelevantPerQuery.toFixed(2) + (summary.queriesWithoutRelevant ? ` (${summary.queriesWithoutRelevant} queries with none)` : '')],
      ['ID length', `${summary.idLength} digit${summary.idLength === 1 ? '' : 's'}`],
      ['skipped', summary.skipped],
      ['cache', `${relative(process.cwd(), corpus.cachePath) || '.'} (${corpus.reused ? 'reused' : 'built'}, hash ${corpus.hash})`],
      ['time', `${corpus.seconds.toFixed(1)} s`],
    ];
    for (const [k, v] of lines) console.log(`${k.padEnd(20)} ${v}`);
    if (corpus.skipped.length > 0) {
      console.log(`skipped files:`);
      for (const s of corpus.skipped.slice(0, SKIPPED_SHOWN)) console.log(`  ${relative(process.cwd(), s.source) || s.source}: ${s.reason}`);
      const more = corpus.skipped.length - SKIPPED_SHOWN;
      if (more > 0) console.log(`  ... and ${more} more (all listed in ${relative(process.cwd(), corpus.cachePath) || '.'}/manifest.json, or use --json)`);
    }
  },
};
