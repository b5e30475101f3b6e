import type { CommandModule } from 'yargs';
import { UserError } from '../runtime/errors.ts';

// Placeholder until issue 5 lands: the command exists so --help lists it.
export const bovwCommand: CommandModule = {
  command: 'bovw',
  describe: 'Build the SIFT + k-means Bag-of-Visual-Words index',
  handler: () => {
    throw new UserError('dsi bovw is not implemented yet (issue 5)');
  },
};
