/**
 * A tiny DSI model trained in the test until it writes every indexed image's own ID (real
 * Imagenette photos, the trainer fixtures' corpus), plus helpers to store it as a run on disk.
 */
import type { DsiConfig } from '../../src/config/schema.ts';
import { CACHE_FORMAT, writeCache, type Manifest } from '../../src/data/cache.ts';
import type { Corpus } from '../../src/data/types.ts';
import type { EngineState } from '../../src/types.ts';
import { Rng } from '../../src/runtime/rng.ts';
import { batchesOf, indexingItems, makeBatch, retrievalItems } from '../../src/train/batches.ts';
import { saveCheckpoint, type CheckpointKind } from '../../src/runs/checkpoint.ts';
import { createEngine } from '../../src/train/engine/engine.ts';
import { initialTrainerState } from '../../src/train/phases.ts';
import { modelShapeOf } from '../../src/runs/checkpoint.ts';
import { tinyConfig } from '../train-fixtures.ts';

export const memorisingConfig = (): DsiConfig =>
  tinyConfig({ 'model.dropout': 0, 'train.learning_rate': 3e-3, 'train.batch_size': 12, 'decode.batch_size': 8 });

/**
 * Trains phase 1 until exact-ID accuracy on the indexed images is 1 (throws if it never gets
 * there), then `retrievalSteps` steps of phase 2. Returns both states.
 */
export async function trainMemorisingModel(corpus: Corpus, config: DsiConfig, backend: string, retrievalSteps = 10) {
  const shape = modelShapeOf(corpus);
  const engine = await createEngine({ model: config.model, train: config.train, shape, backend });
  const rng = new Rng(5);
  const all = makeBatch(corpus, indexingItems(corpus, new Rng(1)));
  let accuracy = 0;
  for (let epoch = 0; epoch < 400 && accuracy < 1; epoch++) {
    for (const batch of batchesOf(corpus, indexingItems(corpus, rng), config.train.batch_size)) await engine.trainStep(batch, rng.seed());
    if (epoch % 10 === 9) {
      const s = await engine.evaluate(all);
      accuracy = s.idCorrect / s.ids;
    }
  }
  if (accuracy < 1) throw new Error(`the test model did not memorise its ${corpus.indexedRows.length} images (accuracy ${accuracy})`);
  const indexing = await engine.getState();
  for (let s = 0; s < retrievalSteps; s++) {
    const [batch] = batchesOf(corpus, retrievalItems(corpus, 2, rng), config.train.batch_size);
    await engine.trainStep(batch, rng.seed());
  }
  const retrieval = await engine.getState();
  await engine.dispose();
  return { indexing, retrieval };
}

/** Store the corpus in a cache folder the way `dsi data` does, so eval finds it by hash. */
export async function cacheCorpus(corpus: Corpus, cacheRoot: string, config: DsiConfig): Promise<void> {
  const manifest = {
    format: CACHE_FORMAT,
    hash: corpus.hash,
    createdAt: new Date().toISOString(),
    buildSeconds: 0,
    source: { kind: 'folder', identity: 'test' },
    data: config.data,
    imageSize: corpus.imageSize,
    classNames: corpus.classNames,
    classSizes: {},
    records: corpus.records,
    indexedRows: corpus.indexedRows,
    idLength: corpus.idLength,
    skipped: [],
    summary: {},
  } as unknown as Manifest;
  await writeCache(cacheRoot, manifest, corpus.pixels);
}

export async function saveRunCheckpoint(run: string, kind: CheckpointKind, state: EngineState, corpus: Corpus, config: DsiConfig, backend: string, root: string) {
  await saveCheckpoint(run, kind, { config, corpusHash: corpus.hash, shape: modelShapeOf(corpus), backend, engine: state, trainer: initialTrainerState(1) }, root);
}
