import type { CommandModule } from 'yargs';
import { BACKEND_CHOICES, type BackendChoice } from '../runtime/backend.ts';
import { runEmbed, type EmbedModel } from '../eval/embed.ts';

interface EmbedArgs {
  run?: string;
  model: EmbedModel;
  images: 'indexed' | 'all';
  out: string;
  backend: BackendChoice;
  set: string[];
}

export const embedCommand: CommandModule<object, EmbedArgs> = {
  command: 'embed',
  describe: 'Write a run\'s image embeddings as OUT.npy + OUT.txt (row names), e.g. for data.semantic_embeddings',
  builder: (y) =>
    y
      .option('run', { type: 'string', describe: 'Run whose encoder to use (a name, or latest; the default)' })
      .option('model', { choices: ['dense', 'zero-shot', 'fine-tuned', 'bovw'] as const, default: 'dense' as const, describe: 'dense: the dual-encoder baseline (train.dense_epochs); zero-shot / fine-tuned: the DSI encoder after phase 1 / 2; bovw: the corpus\'s BoVW histograms (after `dsi bovw`)' })
      .option('images', { choices: ['indexed', 'all'] as const, default: 'indexed' as const, describe: 'indexed: the images semantic IDs are made for; all: every image of the corpus' })
      .option('out', { type: 'string', demandOption: true, describe: 'Output path without extension' })
      .option('backend', { choices: BACKEND_CHOICES, default: 'auto' as BackendChoice, describe: 'TensorFlow.js backend' })
      .option('set', { type: 'string', array: true, default: [] as string[], describe: 'Override a bovw or decode key (e.g. bovw.clusters=100 for --model bovw)' })
      .example('$0 embed --run R --model dense --out emb && $0 train --config configs/imagenette-dsi.yaml --set data.id_scheme=semantic --set data.semantic_embeddings=emb.npy --set data.semantic_names=emb.txt', 'semantic IDs from run R\'s dense encoder') as never,
  handler: async (args) => {
    const r = await runEmbed({ run: args.run, model: args.model, images: args.images, out: args.out, backend: args.backend, overrides: args.set });
    process.stdout.write(`${r.rows} embeddings of ${r.dim} dimensions: ${r.npyPath}, row names: ${r.namesPath}\n`);
  },
};
