import type { CommandModule } from 'yargs';
import { UserError } from '../runtime/errors.ts';

// Placeholder until issue 3 lands: the command exists so --help lists it.
export const trainCommand: CommandModule = {
  command: 'train',
  describe: 'Train the ViT DSI model (indexing, then retrieval fine-tuning)',
  handler: () => {
    throw new UserError('dsi train is not implemented yet (issue 3)');
  },
};
