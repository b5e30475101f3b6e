// Time of one augmented training view (src/train/augment.ts) at a config's image size and
// augmentation settings: the trainer makes every view on the main thread between steps, so this
// cost adds to each step of the dsi recipe (batch 32 x this).
//   npx tsx scripts/bench-augment.ts [--config configs/imagenette-dsi.yaml] [--views 256]
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/load.ts';
import { augmentImage, augmentOptionsOf, mixSeed } from '../src/train/augment.ts';
import { Rng } from '../src/runtime/rng.ts';

const { values: args } = parseArgs({ options: { config: { type: 'string', default: 'configs/imagenette-dsi.yaml' }, views: { type: 'string', default: '256' } } });
const { config } = loadConfig(args.config, []);
const augment = augmentOptionsOf(config.train);
if (!augment) throw new Error('this config does not augment (train.aug_* all off)');
const size = config.data.image_size;
const views = Number(args.views);
const rng = new Rng(1);
const src = new Uint8Array(size * size * 3).map(() => rng.int(256));
for (let i = 0; i < 16; i++) augmentImage(src, size, mixSeed(0, i), augment); // warm-up (JIT)
const times: number[] = [];
for (let round = 0; round < 5; round++) {
  const started = performance.now();
  for (let i = 0; i < views; i++) augmentImage(src, size, mixSeed(round, i), augment);
  times.push((performance.now() - started) / views);
}
times.sort((a, b) => a - b);
console.log(`${size} px, ${JSON.stringify(augment)}: ${times[2].toFixed(2)} ms per view (median of 5 rounds of ${views}; min ${times[0].toFixed(2)}, max ${times[4].toFixed(2)})`);
