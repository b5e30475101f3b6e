import type { CommandModule } from 'yargs';
import { withConfigOptions, type ConfigArgs } from './options.ts';
import { BACKEND_CHOICES, type BackendChoice } from '../runtime/backend.ts';
import { launchTraining } from '../train/train.ts';
import { trainingSummary } from '../train/summary.ts';
import { printNotice } from '../runtime/progress.ts';

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
      .option('run', { type: 'string', describe: 'Run name (default <config-name>-<yyyymmdd-hhmmss>)' })
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
    // First Ctrl-C: finish the current step and stop (last/ keeps the previous epoch); second: quit now.
    const controller = new AbortController();
    const onSigint = () => {
      if (controller.signal.aborted) process.exit(130);
      // The live bar is cleared and silenced first, or its next redraw would garble the notice.
      printNotice('\ndsi train: stopping after this step (Ctrl-C again to quit now); resume with --resume');
      controller.abort();
    };
    process.on('SIGINT', onSigint);
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
      if (controller.signal.aborted) process.exitCode = 130;
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};
