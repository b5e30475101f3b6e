import type { CommandModule } from 'yargs';
import { UserError } from '../runtime/errors.ts';

// Placeholder until issue 2 lands: the command exists so --help lists it.
export const dataCommand: CommandModule = {
  command: 'data',
  describe: 'Build (or reuse) the image corpus cache and print a summary',
  handler: () => {
    throw new UserError('dsi data is not implemented yet (issue 2)');
  },
};
