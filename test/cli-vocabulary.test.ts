import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/config/load.ts';
import { snakeCaseKeys } from '../src/runtime/json.ts';

const help = (command: string) => execFileSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'dsi.js'), command, '--help'], { encoding: 'utf8' });

test('one vocabulary: --force rebuilds (data, bovw), --queries is a folder (eval); old bovw names hidden', () => {
  const bovw = help('bovw');
  assert.match(bovw, /--force\s/);
  assert.match(bovw, /--query-split\s/);
  assert.match(bovw, /--run\s/);
  assert.doesNotMatch(bovw, /--rebuild|--queries/);
  assert.match(help('data'), /--force\s/);
  assert.match(help('eval'), /--queries\s+Query images from DIR/);
});

test('--json outputs use snake_case keys; metric names and data keys stay as they are', () => {
  assert.deepEqual(snakeCaseKeys({ dbSize: 1, corpus: { idScheme: 'x', perClass: { n01440764: 2, 'golf ball': 1 } }, models: [{ msPerQuery: 3, ia: { 'IA@1': 1 } }], 'eval/zero-shot/MAP@10': 0.5 }), {
    db_size: 1,
    corpus: { id_scheme: 'x', per_class: { n01440764: 2, 'golf ball': 1 } },
    models: [{ ms_per_query: 3, ia: { 'IA@1': 1 } }],
    'eval/zero-shot/MAP@10': 0.5,
  });
});
