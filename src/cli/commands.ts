import { configCommand } from './config.ts';
import { dataCommand } from './data.ts';
import { trainCommand } from './train.ts';
import { benchCommand } from './bench.ts';
import { evalCommand } from './eval.ts';
import { searchCommand } from './search.ts';
import { embedCommand } from './embed.ts';
import { bovwCommand } from './bovw.ts';
import { runsCommand } from './runs.ts';
import { serveCommand } from './serve.ts';
import { gridCommand } from './grid.ts';

/** Every `dsi` command, one file each. */
export const commands = [
  dataCommand,
  trainCommand,
  evalCommand,
  searchCommand,
  embedCommand,
  bovwCommand,
  runsCommand,
  gridCommand,
  serveCommand,
  benchCommand,
  configCommand,
];
