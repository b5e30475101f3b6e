/**
 * Two tiny runs trained on the embedded data/samples (4 classes x 10 photos, 32 px, one-layer
 * model, a couple of epochs), with a BoVW index and `dsi eval` results, in temp folders: enough
 * for `dsi serve` to list, show, rank and compare. About ten seconds on two cores.
 */
import { join } from 'node:path';
import { loadOrBuildBovwIndex } from '../../src/bovw/bovw-index.ts';
import { loadConfig, PROJECT_ROOT } from '../../src/config/load.ts';
import { prepareCorpus } from '../../src/data/corpus.ts';
import { runEvaluation } from '../../src/eval/evaluate.ts';
import { launchTraining } from '../../src/train/train.ts';

export const SAMPLES = join(PROJECT_ROOT, 'data', 'samples');

export const SAMPLE_SETTINGS = [
  'data.source=folder', `data.root=${SAMPLES}`, 'data.num_images=40', 'data.min_images_per_class=10', 'data.retrieval_fraction=0.5',
  'data.query_split=[0.4,0.2,0.4]', 'data.image_size=32',
  'model.patch_size=8', 'model.embed_dim=32', 'model.ffn_dim=64', 'model.num_heads=4', 'model.encoder_layers=1', 'model.decoder_layers=1',
  'train.batch_size=10', 'train.learning_rate=0.003', 'train.indexing_epochs=3', 'train.retrieval_epochs=1', 'train.workers=1',
  'decode.beam_width=20', 'decode.batch_size=8', 'eval.bootstrap=50', 'bovw.clusters=16', 'bovw.kmeans_iterations=10', 'tracking.wandb=disabled',
];

export interface ServeRoots {
  experimentsDir: string;
  checkpointsDir: string;
  cacheRoot: string;
}

export function rootsIn(dir: string): ServeRoots {
  return { experimentsDir: join(dir, 'experiments'), checkpointsDir: join(dir, 'checkpoints'), cacheRoot: join(dir, 'cache') };
}

/**
 * Trains `names[0]` (both phases), branches the others from it with a different phase 2, builds
 * BoVW, evaluates all. `more` are further `section.key=value` settings (the screenshot script
 * trains a larger run).
 */
export async function trainSampleRuns(roots: ServeRoots, names: string[], more: string[] = []): Promise<void> {
  const settings = [...SAMPLE_SETTINGS, ...more];
  const common = { ...roots, backend: 'wasm' as const, log: () => {} };
  await launchTraining({ ...common, overrides: settings, run: names[0] });
  for (const name of names.slice(1)) await launchTraining({ ...common, from: names[0], run: name, overrides: ['train.index_replay=1'] });
  const { config } = loadConfig(null, settings);
  const corpus = await prepareCorpus(config.data, { cacheRoot: roots.cacheRoot });
  await loadOrBuildBovwIndex(corpus, config.bovw);
  for (const name of names) await runEvaluation({ ...common, run: name, protocol: 'both' });
}
