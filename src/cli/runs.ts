import type { CommandModule } from 'yargs';
import { UserError } from '../runtime/errors.ts';

// Placeholder until issue 6 lands: the command exists so --help lists it.
export const runsCommand: CommandModule = {
  command: 'runs',
  describe: 'List and compare runs in the local run store',
  handler: () => {
    throw new UserError('dsi runs is not implemented yet (issue 6)');
  },
};
