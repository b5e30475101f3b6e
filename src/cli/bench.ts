import type { CommandModule } from 'yargs';
import { UserError } from '../runtime/errors.ts';

// Placeholder until issue 3 lands: the command exists so --help lists it.
export const benchCommand: CommandModule = {
  command: 'bench',
  describe: 'Benchmark a training step (ms/step, images/s, GFLOP/s)',
  handler: () => {
    throw new UserError('dsi bench is not implemented yet (issue 3)');
  },
};
