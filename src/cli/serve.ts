import type { CommandModule } from 'yargs';
import { BACKEND_CHOICES, type BackendChoice } from '../runtime/backend.ts';
import { DEFAULT_HOST, startServer } from '../serve/server.ts';
import { checkpointsRoot, experimentsRoot } from '../runtime/paths.ts';

interface ServeArgs {
  port: number;
  host: string;
  experiments?: string;
  checkpoints?: string;
  backend: BackendChoice;
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'A local web page to browse runs, their queries and what each model retrieves',
  builder: (y) =>
    y
      .option('port', { type: 'number', default: 8080, describe: 'TCP port (0: any free port)' })
      .option('host', { type: 'string', default: DEFAULT_HOST, describe: 'Address to bind (anything but loopback exposes your runs to the network)' })
      .option('experiments', { type: 'string', defaultDescription: 'experiments/ under the output root', describe: 'The local run store' })
      .option('checkpoints', { type: 'string', defaultDescription: 'checkpoints/ under the output root', describe: 'Where the runs\' checkpoints are' })
      .option('backend', { choices: BACKEND_CHOICES, default: 'auto' as BackendChoice, describe: 'TensorFlow.js backend for ranking' }) as never,
  handler: async (args) => {
    const s = await startServer({ experimentsDir: args.experiments ?? experimentsRoot(), checkpointsDir: args.checkpoints ?? checkpointsRoot(), host: args.host, port: args.port, backend: args.backend });
    process.stdout.write(`dsi serve: ${s.url} (Ctrl-C stops)\n`);
    // Slurm, Docker and Kubernetes send SIGTERM or SIGHUP: stop as cleanly as on Ctrl-C.
    await new Promise<void>((resolve) => { for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => resolve()); });
    await s.close();
  },
};
