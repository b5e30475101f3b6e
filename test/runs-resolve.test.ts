import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { latestRun, resolveRunName } from '../src/runs/resolve.ts';
import { tempDir } from './train-fixtures.ts';

/** A stand-in checkpoint folder: `latest` reads only the manifest's time and the trainer's phase. */
function fakeCheckpoint(root: string, run: string, kind: string, phase: string, ageS: number) {
  const dir = join(root, run, kind);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'trainer.json'), JSON.stringify({ phase }));
  writeFileSync(join(dir, 'checkpoint.json'), '{}');
  const t = Date.now() / 1000 - ageS;
  utimesSync(join(dir, 'checkpoint.json'), t, t);
}

test('latest: each command takes the newest run that has what it needs', async () => {
  const dirs = tempDir('latest');
  try {
    const root = dirs.path;
    // oldest: finished both phases; then one stopped in phase 2; newest: interrupted in phase 1.
    fakeCheckpoint(root, 'finished', 'indexing', 'retrieval', 300);
    fakeCheckpoint(root, 'finished', 'last', 'done', 290);
    fakeCheckpoint(root, 'midway', 'indexing', 'retrieval', 200);
    fakeCheckpoint(root, 'midway', 'last', 'retrieval', 190);
    fakeCheckpoint(root, 'interrupted', 'last', 'indexing', 10);
    mkdirSync(join(root, 'empty-run'));

    assert.equal(await latestRun(root, 'unfinished'), 'interrupted');
    assert.equal(await latestRun(root, 'indexing'), 'midway');
    assert.equal(await latestRun(root, 'model'), 'midway');
    assert.equal(await resolveRunName('latest', root), 'midway');
    assert.equal(await resolveRunName(undefined, root), 'midway');
    assert.equal(await resolveRunName('finished', root), 'finished');

    // --resume latest never picks a finished run.
    fakeCheckpoint(root, 'interrupted', 'last', 'done', 5);
    fakeCheckpoint(root, 'midway', 'last', 'done', 4);
    await assert.rejects(latestRun(root, 'unfinished'), /--resume latest: none of the 3 run\(s\) .* has phases left to train/);
  } finally {
    dirs.cleanup();
  }
});

test('latest with no trained model says so', async () => {
  const dirs = tempDir('latest-none');
  try {
    fakeCheckpoint(dirs.path, 'only', 'last', 'indexing', 1);
    await assert.rejects(resolveRunName(undefined, dirs.path), /no trained run .*an indexing checkpoint.*dsi train --config/);
  } finally {
    dirs.cleanup();
  }
});
