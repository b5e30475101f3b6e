import type { CommandModule } from 'yargs';
import { withConfigOptions, configFromArgs, type ConfigArgs } from './options.ts';
import { loadConfig } from '../config/load.ts';
import { BACKEND_CHOICES, initBackend, type BackendChoice } from '../runtime/backend.ts';
import { UserError } from '../runtime/errors.ts';
import { idLengthFor } from '../data/ids.ts';
import { busyMachineNote, watchMachineLoad } from '../runtime/machine-load.ts';
import { benchCase, formatBench, type BenchCase } from '../bench/bench.ts';

interface BenchArgs extends ConfigArgs {
  backend: BackendChoice;
  steps: number;
  workers?: number;
  profile: boolean;
  top: number;
  dense: boolean;
}

/** The reference step (batch 32, 160 px, patch 16, 128 wide, 6+6 layers, 3-digit IDs) and quickstart. */
function benchCases(args: BenchArgs): BenchCase[] {
  const fromFile = (file: string | null, name: string): BenchCase => {
    const { config } = file === null ? configFromArgs(args) : loadConfig(file, args.set ?? []);
    const train = { ...config.train, ...(args.workers ? { workers: args.workers } : {}) };
    const idLength = Math.max(3, idLengthFor(config.data.num_images));
    return { name, model: config.model, train, shape: { imageSize: config.data.image_size, idLength } };
  };
  if (args.config) return [fromFile(null, args.config)];
  return [fromFile('imagenette', 'reference step (configs/imagenette.yaml)'), fromFile('quickstart', 'configs/quickstart.yaml')];
}

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: 'bench',
  describe: 'Benchmark a training step (ms/step, images/s, GFLOP/s, top kernels)',
  builder: (y) =>
    withConfigOptions(y)
      .option('backend', { choices: BACKEND_CHOICES, default: 'auto' as BackendChoice, describe: 'TensorFlow.js backend' })
      .option('steps', { type: 'number', default: 3, describe: 'Timed steps per case (after one warm-up step)' })
      .option('workers', { type: 'number', describe: 'Worker threads (overrides train.workers)' })
      .option('profile', { type: 'boolean', default: true, describe: 'Also profile one step by kernel (tf.profile)' })
      .option('top', { type: 'number', default: 12, describe: 'Kernels listed from the profile' })
      .option('dense', { type: 'boolean', default: false, describe: 'Time the dense dual-encoder baseline\'s step instead' })
      .epilog('Without --config: the reference step and configs/quickstart.yaml. Random pixels; timings on a shared CPU are noisy.') as never,
  handler: async (args) => {
    if (!(args.steps >= 1)) throw new UserError(`--steps must be >= 1 (got ${args.steps})`);
    if (args.workers !== undefined && !(Number.isInteger(args.workers) && args.workers >= 1)) {
      throw new UserError(`--workers must be a positive integer (got ${args.workers})`);
    }
    const backend = await initBackend(args.backend);
    process.stdout.write(`backend: ${backend}\n`);
    const loadWatch = watchMachineLoad();
    for (const c of benchCases(args)) {
      if (args.dense) {
        const { benchDense, formatDenseBench } = await import('../bench/dense-bench.ts');
        process.stdout.write(`${formatDenseBench(await benchDense(c, backend, args.steps))}\n`);
        continue;
      }
      const result = await benchCase(c, backend, args.steps, args.profile);
      process.stdout.write(`${formatBench(result, args.top)}\n`);
    }
    const busy = busyMachineNote(loadWatch.stop(), 'the timings above');
    if (busy) process.stdout.write(`warning: ${busy}\n`);
  },
};
