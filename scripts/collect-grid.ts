// Copies the finished rows of configs/grid.yaml from experiments/ into experiments/results/, writes
// the grid table (md, csv, tex) and the DB-size plot there, and regenerates README's grid section
// (between the <!-- results-grid --> markers). Run after `dsi grid`; test/readme.test.ts fails while
// README.md is out of date with experiments/results/. With --plan, the finished rows of another
// plan (e.g. configs/ablation-512.yaml) are copied the same way, and nothing else is written.
//   npx tsx scripts/collect-grid.ts [--experiments DIR] [--plan configs/ablation-512.yaml]
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/config/load.ts';
import { replaceBetweenMarkers } from '../src/config/markdown.ts';
import { loadPlan } from '../src/grid/plan.ts';
import { collectGridRows, gridResultsMarkdown, writeGridTables } from '../src/grid/results.ts';

const { values: options } = parseArgs({ options: { experiments: { type: 'string' }, plan: { type: 'string' } } });
const experiments = options.experiments ?? join(PROJECT_ROOT, 'experiments');
const otherPlan = options.plan;
const plan = loadPlan(otherPlan ?? join(PROJECT_ROOT, 'configs', 'grid.yaml'), {}, {});
const results = join(PROJECT_ROOT, 'experiments', 'results');
// experiments/grid is dsi grid's default --logs; runners given another folder named it grid-<something>.
const logs = existsSync(experiments) ? readdirSync(experiments).filter((d) => /^grid(-|$)/.test(d)).map((d) => join(experiments, d)) : [];
const present = collectGridRows(plan, { experiments, logs, results, project: PROJECT_ROOT });
if (otherPlan) {
  console.log(`rows of ${otherPlan} in experiments/results: ${present.length ? present.join(', ') : 'none'}`);
  process.exit(0);
}
await writeGridTables(results, present);
const readmePath = join(PROJECT_ROOT, 'README.md');
writeFileSync(readmePath, replaceBetweenMarkers(readFileSync(readmePath, 'utf8'), 'results-grid', gridResultsMarkdown(plan, results, present)));
console.log(`grid rows in experiments/results: ${present.length ? present.join(', ') : 'none'}; README.md updated`);
