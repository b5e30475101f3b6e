import type { CommandModule } from 'yargs';
import { UserError } from '../runtime/errors.ts';

// Placeholder until issue 4 lands: the command exists so --help lists it.
export const evalCommand: CommandModule = {
  command: 'eval',
  describe: 'Evaluate BoVW, zero-shot and fine-tuned ViT on the test queries',
  handler: () => {
    throw new UserError('dsi eval is not implemented yet (issue 4)');
  },
};
