import yargs from 'yargs';
import { ConfigError } from '../config/load.ts';
import { commands } from './commands.ts';
import { UserError } from '../runtime/errors.ts';


export async function main(argv: string[]): Promise<void> {
  const cli = yargs(argv)
    .scriptName('dsi')
    .usage('$0 <command> [options]\n\nImage retrieval with a Differentiable Search Index (ViT encoder-decoder) and a SIFT BoVW baseline.')
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
    throw e;
  }
}
