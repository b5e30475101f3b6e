import type { CommandModule } from 'yargs';
import { stringify } from 'yaml';
import { describeKeys } from '../config/schema.ts';
import { jsonOutput } from '../runtime/json.ts';
import { configFromArgs, withConfigOptions, type ConfigArgs } from './options.ts';

interface Args extends ConfigArgs {
  keys?: boolean;
  json?: boolean;
}

export const configCommand: CommandModule<object, Args> = {
  command: 'config',
  describe: 'Validate a config and print it resolved (defaults + file + --set), or list every key',
  builder: (y) =>
    withConfigOptions(y)
      .option('keys', { type: 'boolean', describe: 'List every config key with its type, default and help' })
      .option('json', { type: 'boolean', describe: 'Print JSON instead of YAML' })
      .epilog(
        'Key defaults (--keys) are the reference experiment\'s hyper-parameters (configs/imagenette.yaml). ' +
          'Without --config, dsi config, data, bovw and train read configs/quickstart.yaml, the embedded data/samples.',
      ) as never,
  handler: (args) => {
    if (args.keys) {
      const docs = describeKeys();
      if (args.json) return void process.stdout.write(jsonOutput(docs));
      for (const d of docs) console.log(`${d.key} (${d.type}, default ${JSON.stringify(d.default)})\n    ${d.help}`);
      return;
    }
    const { config } = configFromArgs(args);
    process.stdout.write(args.json ? jsonOutput(config) : stringify(config));
  },
};
