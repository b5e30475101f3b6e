import { resolve } from 'node:path';
import yargs from 'yargs';
import { ConfigError } from '../config/load.ts';
import { commands } from './commands.ts';
import { UserError } from '../runtime/errors.ts';
import { reportUnexpected } from '../runtime/crash.ts';

/** `dsi config --keys | head -1`: the reader went away; that is not an error worth a trace. */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnClosedPipe(process.stdout);
  // Errors thrown outside the command's promise chain (a stream's 'error' event, a timer) get the same treatment.
  const crash = (e: unknown) => {
    process.stderr.write(`${reportUnexpected(e, argv)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  const cli = yargs(argv)
    .scriptName('dsi')
    .usage(
      '$0 <command> [options]\n\nImage retrieval with a Differentiable Search Index (ViT encoder-decoder) and a SIFT BoVW baseline.\n' +
        'Outputs (checkpoints/, experiments/, data/cache/) go under the working directory, or --root DIR / DSI_HOME.',
    )
    .option('root', {
      type: 'string',
      global: true,
      describe: 'Output root: checkpoints/, experiments/ and data/cache/ go here (default: DSI_HOME, else the working directory)',
    })
    .middleware((a) => {
      // Through the environment, so worker threads and every module read one value (runtime/paths.ts).
      if (typeof a.root === 'string' && a.root) process.env.DSI_HOME = resolve(a.root);
    })
    .strict()
    .demandCommand(1, 'Name a command (see --help).')
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw new UserError(msg);
    });
  for (const c of commands) cli.command(c as never);
  try {
    await cli.parseAsync();
  } catch (e) {
    // Errors a user can act on print one clear message and exit non-zero, without a stack trace.
    if (e instanceof ConfigError || e instanceof UserError) {
      process.stderr.write(`dsi: ${(e as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
    // Anything else: one line and where the trace went. Never rethrown: node would print the
    // source line it was thrown from, which inside tfjs-backend-wasm is ~40 KB of minified code.
    process.stderr.write(`${reportUnexpected(e, argv)}\n`);
    process.exitCode = 1;
  }
}
