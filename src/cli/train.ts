import type { CommandModule } from 'yargs';
import { withConfigOptions, type ConfigArgs } from './options.ts';
import { BACKEND_CHOICES, type BackendChoice } from '../runtime/backend.ts';
import { launchTraining } from '../train/train.ts';
import { stopOnSignals } from '../runtime/signals.ts';
import { trainingSummary } from '../train/summary.ts';

interface TrainArgs extends ConfigArgs {
  run?: string;
  resume?: string;
  from?: string;
  backend: BackendChoice;
  'stop-after-epochs'?: number;
}

export const trainCommand: CommandModule<object, TrainArgs> = {
  command: 'train',
  describe: 'Train the ViT DSI model (indexing, then retrieval fine-tuning), with checkpoints you can resume',
  builder: (y) =>
    withConfigOptions(y)
      .option('run', { type: 'string', describe: 'Run name (default <config-name>-<yyyymmdd-hhmmss>-<6 hex>)' })
      .option('resume', {
        type: 'string',
        describe: 'Continue an interrupted run from checkpoints/<run>/last: --resume latest, --resume NAME, or --resume with --run NAME',
      })
      .option('from', {
        type: 'string',
        describe: 'Start a new run at phase 2 from the indexing checkpoint of run NAME (or latest): compare phase-2 settings without training phase 1 again',
      })
      .option('backend', { choices: BACKEND_CHOICES, default: 'auto' as BackendChoice, describe: 'TensorFlow.js backend' })
      .option('stop-after-epochs', { type: 'number', hidden: true, describe: 'Stop after N epochs (a deliberate interruption)' }) as never,
  handler: async (args) => {
    // First Ctrl-C / SIGTERM / SIGHUP: finish the current step and stop (last/ keeps the previous epoch); second: quit now.
    const stop = stopOnSignals((s) => `dsi train: ${s} received, stopping after this step (${s === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again to quit now); resume with --resume`);
    const controller = { signal: stop.signal };
    try {
      const r = await launchTraining({
        configFile: args.config ?? null,
        overrides: args.set ?? [],
        run: args.run,
        resume: args.resume,
        from: args.from,
        backend: args.backend,
        signal: controller.signal,
        stopAfterEpochs: args['stop-after-epochs'],
      });
      process.stdout.write(trainingSummary(r).join('\n') + '\n');
      if (stop.received()) process.exitCode = stop.exitCode();
    } finally {
      stop.dispose();
    }
  },
};
