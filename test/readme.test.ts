import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPlan } from '../src/grid/plan.ts';
import { gridResultsMarkdown } from '../src/grid/results.ts';
import { test } from 'node:test';
import { configKeysMarkdown, textBetweenMarkers } from '../src/config/markdown.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

test('README lists every config key exactly as the schema defines it (run scripts/update-readme.ts)', () => {
  assert.equal(textBetweenMarkers(readme, 'config-keys'), configKeysMarkdown());
});

test('CI runs the test command the README gives, after npm ci', () => {
  const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
  assert.match(readme, /^npm test\b/m);
  assert.match(ci, /^npm ci\b[\s\S]*^npm test\s*$/m);
});

test('README set-up trains the embedded default that ships in the repo', () => {
  assert.match(readme, /npm ci && npx dsi train --config configs\/quickstart\.yaml/);
  const quickstart = readFileSync(new URL('../configs/quickstart.yaml', import.meta.url), 'utf8');
  assert.match(quickstart, /root: data\/samples/);
});

test('README\'s results grid is the table of the grid rows in experiments/results (run scripts/collect-grid.ts)', () => {
  const results = fileURLToPath(new URL('../experiments/results', import.meta.url));
  const plan = loadPlan(fileURLToPath(new URL('../configs/grid.yaml', import.meta.url)), {}, {});
  const present = plan.filter((r) => existsSync(join(results, r.name, 'eval.json'))).map((r) => r.name);
  assert.equal(textBetweenMarkers(readme, 'results-grid'), gridResultsMarkdown(plan, results, present).trim());
});
