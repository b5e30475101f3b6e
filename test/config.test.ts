import { test } from 'node:test';
import assert from 'node:assert/strict';
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
  for (const name of ['imagenette', 'imagenette-1024', 'imagenette-2048', 'tiny-imagenet', 'imagenet-1k', 'quickstart']) {
    loadConfig(name);
  }
  loadConfig('coco', ['data.root=../shared/data/coco-mini']);
});

test('config errors name the key, the bad value and what is allowed', () => {
  assert.match(errorOf(['model.num_heads=3']), /model\.num_heads=3 must divide model\.embed_dim=128/);
  assert.match(errorOf(['data.id_scheme=sorted']), /data\.id_scheme="sorted".*"clustered", "random"/);
  assert.match(errorOf(['data.colour=1']), /unknown key "data\.colour".*num_images/);
  assert.match(errorOf(['model.dropout=high']), /model\.dropout="high".*expected number/);
  assert.match(errorOf(['train.batch_size=0']), /train\.batch_size=0 .*>= 1/);
  assert.match(errorOf(['data.retrieval_fraction=1.5']), /data\.retrieval_fraction=1\.5 .*< 1/);
  assert.match(errorOf(['data.query_split=[0.5, 0.1, 0.1]']), /data\.query_split.*must sum to 1/);
  assert.match(errorOf(['data.image_size=100']), /data\.image_size=100 must be a multiple of model\.patch_size=16/);
  assert.match(errorOf(['nosuch.key=1']), /unknown section "nosuch"/);
  assert.match(errorOf(['novalue']), /section\.key=value/);
  assert.match(errorOf([], 'coco'), /data\.root is required when data\.source=coco/);
});

test('a missing config file is named', () => {
  assert.throws(() => loadConfig('no-such-config.yaml'), /config file "no-such-config\.yaml" not found/);
});
