import type { CommandModule } from 'yargs';
import { loadOrBuildBovwIndex } from '../bovw/bovw-index.ts';
import { quickEvaluate } from '../eval/bovw-quick-eval.ts';
import { openCorpusOnly, openRunCorpus } from '../runs/open.ts';
import { jsonOutput } from '../runtime/json.ts';
import { withConfigOptions, type ConfigArgs } from './options.ts';
import { assertWritable, cacheRoot } from '../runtime/paths.ts';

interface Args extends ConfigArgs {
  run?: string;
  force?: boolean;
  rebuild?: boolean;
  queries?: 'test' | 'all';
  json?: boolean;
  eval?: boolean;
  'query-split': 'test' | 'all';
}

export const bovwCommand: CommandModule<object, Args> = {
  command: 'bovw',
  describe: 'Build (or reuse) the SIFT + k-means Bag-of-Visual-Words index and report a quick P@10',
  builder: (y) =>
    withConfigOptions(y)
      .option('run', { type: 'string', describe: "A trained run (a name, or latest): build for its corpus, under its own data config (--set may change bovw keys)" })
      .option('force', { type: 'boolean', describe: 'Rebuild the index even when a cached one exists (as `dsi data --force`)' })
      // Old names, kept working but out of --help: --rebuild is --force; --queries (a folder in `dsi eval`) is --query-split.
      .option('rebuild', { type: 'boolean', hidden: true })
      .option('queries', { choices: ['test', 'all'] as const, hidden: true })
      .option('eval', { type: 'boolean', default: true, describe: 'Rank the test queries (P@10, MAP@10, Recall@100); --no-eval skips' })
      .option('query-split', {
        choices: ['test', 'all'] as const,
        default: 'test' as const,
        describe: 'Queries for the quick evaluation: the test split, or every query image (BoVW is not trained on any)',
      })
      .option('json', { type: 'boolean', describe: 'Print the report as JSON on stdout' })
      .example('$0 bovw --config quickstart.yaml', 'the embedded 400-image corpus')
      .example('$0 bovw --run latest', "the corpus of the newest trained run, with that run's data settings")
      .example(
        '$0 bovw --config imagenette.yaml --set data.source=folder --set data.root=../shared/data/imagenette-224/train',
        'the reference 512-image Imagenette corpus from a local copy',
      ) as never,
  handler: async (args) => {
    assertWritable(cacheRoot(), 'data cache');
    const opts = { run: args.run, configFile: args.config ?? null, overrides: args.set ?? [] };
    const { config, corpus } = args.run ? await openRunCorpus(opts) : await openCorpusOnly(opts);
    const index = await loadOrBuildBovwIndex(corpus, config.bovw, { rebuild: args.force || args.rebuild });
    const querySplit = args.queries ?? args['query-split'];
    const s = index.stats;
    const quick = args.eval ? quickEvaluate(index, corpus, querySplit) : null;
    const report = {
      corpus: corpus.hash,
      index: index.path,
      built: index.built,
      clusters: index.clusters,
      weighting: config.bovw.weighting,
      rootSift: config.bovw.root_sift,
      indexedImages: s.indexedImages,
      keypointsPerImage: { mean: +s.keypointsPerImage.mean.toFixed(1), min: s.keypointsPerImage.min, max: s.keypointsPerImage.max },
      imagesWithoutKeypoints: s.imagesWithoutKeypoints,
      descriptors: { total: s.descriptorsTotal, sampledForKmeans: s.descriptorsSampled },
      kmeansIterations: s.kmeansIterations,
      seconds: {
        sift: +s.siftSeconds.toFixed(2),
        kmeans: +s.kmeansSeconds.toFixed(2),
        histograms: +s.histogramSeconds.toFixed(2),
        build: +s.buildSeconds.toFixed(2),
      },
      siftImagesPerSecond: +(s.indexedImages / Math.max(s.siftSeconds, 1e-3)).toFixed(1),
      queries: quick && {
        role: querySplit,
        queries: quick.queries,
        'P@10': +quick.precisionAt10.toFixed(4),
        'MAP@10': +quick.mapAt10.toFixed(4),
        'Recall@100': +quick.recallAt100.toFixed(4),
        chanceP: +quick.chancePrecision.toFixed(4),
        msPerQuery: +quick.msPerQuery.toFixed(1),
      },
    };
    if (args.json) {
      process.stdout.write(jsonOutput(report));
      return;
    }
    const lines = [
      `BoVW index ${index.built ? 'built' : 'reused'}: ${index.path ?? '(not cached)'}`,
      `  ${s.indexedImages} indexed images, K=${index.clusters}, weighting ${config.bovw.weighting}` +
        `${config.bovw.root_sift ? ', RootSIFT' : ''}`,
      `  keypoints per image: mean ${report.keypointsPerImage.mean}, min ${s.keypointsPerImage.min}, max ${s.keypointsPerImage.max}` +
        ` (${s.imagesWithoutKeypoints} without any)`,
      `  descriptors: ${s.descriptorsTotal} (${s.descriptorsSampled} sampled for k-means, ${s.kmeansIterations} iterations)`,
      `  build time${index.built ? '' : ' (when built)'}: ${report.seconds.build} s (SIFT ${report.seconds.sift} s = ` +
        `${report.siftImagesPerSecond} img/s, k-means ${report.seconds.kmeans} s, histograms ${report.seconds.histograms} s)`,
    ];
    if (quick) {
      lines.push(
        `  ${querySplit === 'all' ? 'all' : 'test'} queries: ${quick.queries}; P@10 ${quick.precisionAt10.toFixed(3)} (chance ${quick.chancePrecision.toFixed(3)}), MAP@10 ${quick.mapAt10.toFixed(3)}, ` +
          `Recall@100 ${quick.recallAt100.toFixed(3)}; ${quick.msPerQuery.toFixed(1)} ms/query`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
