import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError, findConfigFile } from '../src/config/load.ts';

function errorOf(overrides: string[], file: string | null = null): string {
  try {
    loadConfig(file, overrides);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.message;
  }
  assert.fail(`config ${overrides.join(' ')} was accepted`);
}

test('reference defaults when no file is given', () => {
  const { config } = loadConfig(null);
  assert.equal(config.model.patch_size, 16);
  assert.equal(config.model.embed_dim, 128);
  assert.equal(config.train.indexing_epochs, 750);
  assert.deepEqual(config.data.query_split, [0.8, 0.1, 0.1]);
});

test('--config imagenette.yaml finds configs/imagenette.yaml and --set overrides it', () => {
  assert.match(findConfigFile('imagenette.yaml'), /configs\/imagenette\.yaml$/);
  const { config } = loadConfig('imagenette.yaml', ['data.num_images=1024', 'model.positional=learned', 'data.query_split=[0.9, 0.05, 0.05]']);
  assert.equal(config.data.num_images, 1024);
  assert.equal(config.model.positional, 'learned');
  assert.deepEqual(config.data.query_split, [0.9, 0.05, 0.05]);
});

test('every shipped config validates (coco once given a root)', () => {
  for (const name of ['imagenette', 'imagenette-replay', 'imagenette-1024', 'imagenette-2048', 'tiny-imagenet', 'imagenet-1k', 'quickstart']) {
    loadConfig(name);
  }
  loadConfig('coco', ['data.root=test/fixtures/coco-mini']);
});

test('config errors name the key, the bad value and what is allowed', () => {
  assert.match(errorOf(['model.num_heads=3']), /model\.num_heads=3 must divide model\.embed_dim=128/);
  assert.match(errorOf(['data.id_scheme=sorted']), /data\.id_scheme="sorted".*"clustered", "random"/);
  assert.match(errorOf(['data.colour=1']), /unknown key "data\.colour".*num_images/);
  assert.match(errorOf(['model.dropout=high']), /model\.dropout="high".*expected a number, got a string \(from --set\)/);
  assert.match(errorOf(['train.batch_size=0']), /train\.batch_size=0 .*>= 1/);
  assert.match(errorOf(['data.retrieval_fraction=1.5']), /data\.retrieval_fraction=1\.5 .*< 1/);
  assert.match(errorOf(['data.query_split=[0.5, 0.1, 0.1]']), /data\.query_split.*must sum to 1/);
  assert.match(errorOf(['data.image_size=100']), /data\.image_size=100 must be a multiple of model\.patch_size=16/);
  assert.match(errorOf(['nosuch.key=1']), /unknown section "nosuch"/);
  assert.match(errorOf(['novalue']), /section\.key=value/);
  assert.match(errorOf([], 'coco'), /data\.root is required when data\.source=coco/);
  assert.match(errorOf(['data.query_split=[0.5, 0.5]']), /data\.query_split=\[0\.5,0\.5\] has too few entries: needs at least 3/);
  assert.match(errorOf(['data.query_split=0.8,0.1,0.1']), /expected a list like \[0\.8, 0\.1, 0\.1\], got a string/);
});

test('config file errors name the file: bad YAML with its line, a list instead of a mapping, bad keys inside', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dsi-config-'));
  try {
    const write = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const broken = write('broken.yaml', 'data:\n  num_images: [1, 2\nmodel: {}\n');
    assert.throws(() => loadConfig(broken), (e: Error) => e instanceof ConfigError && e.message.includes(broken) && /not valid YAML.*line/s.test(e.message));
    const list = write('list.yaml', '- data\n- model\n');
    assert.throws(() => loadConfig(list), /list\.yaml: expected a mapping of sections .* got a list of 2/);
    const typo = write('typo.yaml', 'data:\n  num_imagez: 3\nmodel:\n  patch_size: sixteen\n');
    const message = errorOf([], typo);
    assert.match(message, new RegExp(`unknown key "data\\.num_imagez" .*\\(in ${typo.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)`));
    assert.match(message, /model\.patch_size="sixteen" has the wrong type: expected a number/);
    // The same key, bad in the file but fixed with --set: accepted; bad via --set: blamed on --set.
    const heads = write('heads.yaml', 'model:\n  num_heads: 3\n');
    assert.equal(loadConfig(heads, ['model.num_heads=8']).config.model.num_heads, 8);
    assert.match(errorOf([], heads), /model\.num_heads=3 must divide model\.embed_dim=128 \(in .*heads\.yaml\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing config file is named', () => {
  assert.throws(() => loadConfig('no-such-config.yaml'), /config file "no-such-config\.yaml" not found/);
});

test('an unknown --set key is blamed on --set, an unknown key of the file on the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dsi-set-'));
  try {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'data:\n  num_images: 24\n  typo_in_file: 1\n');
    assert.throws(
      () => loadConfig(file, ['data.no_such_key=3']),
      (e: unknown) =>
        e instanceof ConfigError &&
        /unknown key "data\.no_such_key" .*\(from --set\)/.test(e.message) &&
        new RegExp(`unknown key "data\\.typo_in_file" .*\\(in ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`).test(e.message) &&
        !/no_such_key[^\n]*\(in /.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
