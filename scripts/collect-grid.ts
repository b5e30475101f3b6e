// Copies the finished rows of configs/grid.yaml from experiments/ into experiments/results/, writes
// the grid table (md, csv, tex) and the DB-size plot there, and regenerates README's grid section
// (between the <!-- results-grid --> markers). Run after `dsi grid`; test/readme.test.ts fails while
// README.md is out of date with experiments/results/.
//   npx tsx scripts/collect-grid.ts [--experiments DIR]
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/config/load.ts';
import { replaceBetweenMarkers } from '../src/config/markdown.ts';
import { loadPlan } from '../src/grid/plan.ts';
import { collectGridRows, gridResultsMarkdown, writeGridTables } from '../src/grid/results.ts';

const flag = process.argv.indexOf('--experiments');
const experiments = flag > 0 ? process.argv[flag + 1] : join(PROJECT_ROOT, 'experiments');
const plan = loadPlan(join(PROJECT_ROOT, 'configs', 'grid.yaml'), {}, {});
const results = join(PROJECT_ROOT, 'experiments', 'results');
// experiments/grid is dsi grid's default --logs; runners given another folder named it grid-<something>.
const logs = existsSync(experiments) ? readdirSync(experiments).filter((d) => /^grid(-|$)/.test(d)).map((d) => join(experiments, d)) : [];
const present = collectGridRows(plan, { experiments, logs, results, project: PROJECT_ROOT });
await writeGridTables(results, present);
const readmePath = join(PROJECT_ROOT, 'README.md');
writeFileSync(readmePath, replaceBetweenMarkers(readFileSync(readmePath, 'utf8'), 'results-grid', gridResultsMarkdown(plan, results, present)));
console.log(`grid rows in experiments/results: ${present.length ? present.join(', ') : 'none'}; README.md updated`);
