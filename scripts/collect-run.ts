// Copies one finished run that is not a grid row (an ablation, a --from branch) into
// experiments/results/<run>/: its run store (config, metrics, eval reports, curves) and the logs
// named on the command line (as train-and-eval.log, concatenated), with this machine's absolute
// paths made relative to the checkout, as scripts/collect-grid.ts does for grid rows.
//   npx tsx scripts/collect-run.ts RUN [LOG ...]
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/config/load.ts';
import { relativisePaths } from '../src/grid/results.ts';

const [run, ...logs] = process.argv.slice(2);
if (!run) {
  console.error('usage: npx tsx scripts/collect-run.ts RUN [LOG ...]');
  process.exit(2);
}
const source = join(PROJECT_ROOT, 'experiments', run);
if (!existsSync(join(source, 'eval.json'))) {
  console.error(`experiments/${run} has no eval.json: run \`dsi eval --run ${run} --protocol both\` first`);
  process.exit(1);
}
const dest = join(PROJECT_ROOT, 'experiments', 'results', run);
cpSync(source, dest, { recursive: true });
if (logs.length) writeFileSync(join(dest, 'train-and-eval.log'), logs.map((f) => readFileSync(f, 'utf8')).join('\n'));
relativisePaths(dest, PROJECT_ROOT);
console.log(`experiments/results/${run}: run store${logs.length ? ` and ${logs.length} log(s)` : ''}`);
