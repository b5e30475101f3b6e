import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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
