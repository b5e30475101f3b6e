import type { CommandModule } from 'yargs';
import { UserError } from '../runtime/errors.ts';

// Placeholder until issue 4 lands: the command exists so --help lists it.
export const searchCommand: CommandModule = {
  command: 'search',
  describe: 'Rank the indexed images for image files',
  handler: () => {
    throw new UserError('dsi search is not implemented yet (issue 4)');
  },
};
