import type { CommandModule } from 'yargs';
import { BACKEND_CHOICES, type BackendChoice } from '../runtime/backend.ts';
import { DEFAULT_HOST, startServer } from '../serve/server.ts';
import { CHECKPOINTS_DIR } from '../runs/checkpoint.ts';
import { EXPERIMENTS_DIR } from '../track/tracker.ts';

interface ServeArgs {
  port: number;
  host: string;
  experiments: string;
  checkpoints: string;
  backend: BackendChoice;
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'A local web page to browse runs, their queries and what each model retrieves',
  builder: (y) =>
    y
      .option('port', { type: 'number', default: 8080, describe: 'TCP port (0: any free port)' })
      .option('host', { type: 'string', default: DEFAULT_HOST, describe: 'Address to bind (anything but loopback exposes your runs to the network)' })
      .option('experiments', { type: 'string', default: EXPERIMENTS_DIR, defaultDescription: 'experiments/', describe: 'The local run store' })
      .option('checkpoints', { type: 'string', default: CHECKPOINTS_DIR, defaultDescription: 'checkpoints/', describe: 'Where the runs\' checkpoints are' })
      .option('backend', { choices: BACKEND_CHOICES, default: 'auto' as BackendChoice, describe: 'TensorFlow.js backend for ranking' }) as never,
  handler: async (args) => {
    const s = await startServer({ experimentsDir: args.experiments, checkpointsDir: args.checkpoints, host: args.host, port: args.port, backend: args.backend });
    process.stdout.write(`dsi serve: ${s.url} (Ctrl-C stops)\n`);
    await new Promise<void>((resolve) => process.once('SIGINT', resolve));
    await s.close();
  },
};
