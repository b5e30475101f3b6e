import type { Argv } from 'yargs';
import { DEFAULT_CONFIG, loadConfigOrDefault, type LoadedConfig } from '../config/load.ts';
import { logToStderr } from '../runtime/log.ts';

/** --config and --set, shared by every command that reads a config. */
export function withConfigOptions<T>(y: Argv<T>) {
  return y
    .option('config', {
      alias: 'c',
      type: 'string',
      describe: `YAML config (e.g. imagenette.yaml, found in ./ or the package's configs/); train, data, bovw and config default to configs/${DEFAULT_CONFIG} (the embedded data/samples)`,
    })
    .option('set', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'Override a key: --set section.key=value (repeatable)',
    });
}

export interface ConfigArgs {
  config?: string;
  set?: string[];
}

export function configFromArgs(args: ConfigArgs): LoadedConfig {
  return loadConfigOrDefault(args.config ?? null, args.set ?? [], logToStderr);
}
