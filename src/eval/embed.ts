/**
 * `dsi embed`: one vector per image, written as a NumPy .npy matrix and a text file naming each
 * row's image. The pair is what data.semantic_embeddings / data.semantic_names read, so a run's
 * encoder (e.g. the class-supervised dense one, or the DSI encoder after its warm-up) or the
 * corpus's BoVW histograms can give another run its semantic IDs. Encoders give mean-pooled patch
 * rows, L2-normalised, as the dense baseline ranks with; BoVW gives the weighted visual-word
 * histograms, L2-normalised, as BoVW ranks with.
 */
import { writeFileSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { dump } from 'npyjs';
import { imageEmbedding } from '../model/embedding.ts';
import { modelFromState } from '../model/dsi-model.ts';
import { openRun, type RunOptions } from '../runs/open.ts';
import type { BackendChoice } from '../runtime/backend.ts';
import { UserError } from '../runtime/errors.ts';
import { progressBar } from '../runtime/progress.ts';
import { resolveDataRoot } from '../data/sources/root.ts';
import { imagePixels, type Corpus } from '../data/types.ts';
import { bovwVector, loadBovwIndex } from '../bovw/bovw-index.ts';
import { unitRows } from '../bovw/histograms.ts';
import type { BovwConfig } from '../config/sections/bovw.ts';

export type EmbedModel = 'dense' | 'zero-shot' | 'fine-tuned' | 'bovw';

export interface EmbedOptions extends Pick<RunOptions, 'checkpointsDir' | 'cacheRoot' | 'log' | 'overrides'> {
  run?: string;
  model: EmbedModel;
  /** indexed: the corpus's indexed images (what semantic IDs cluster); all: every corpus image. */
  images: 'indexed' | 'all';
  /** Writes <out>.npy and <out>.txt. */
  out: string;
  backend?: BackendChoice;
}

export interface EmbedResult {
  npyPath: string;
  namesPath: string;
  rows: number;
  dim: number;
}

export async function runEmbed(opts: EmbedOptions): Promise<EmbedResult> {
  const run = await openRun({ run: opts.run, backend: opts.backend, overrides: opts.overrides, checkpointsDir: opts.checkpointsDir, cacheRoot: opts.cacheRoot, log: opts.log });
  const { corpus, config } = run;
  const rows = opts.images === 'indexed' ? [...corpus.indexedRows] : corpus.records.map((r) => r.row);
  const { values, dim } =
    opts.model === 'bovw' ? await bovwEmbeddings(corpus, config.bovw, rows) : await encoderEmbeddings(run, opts.model, rows, config.decode.batch_size);
  // Folder images are named relative to data.root, so the files work on another machine.
  const root = config.data.source === 'folder' ? resolveDataRoot(config.data.root, 'folder') : null;
  const nameOf = (source: string) => {
    if (!root) return source;
    const rel = relative(root, resolve(source));
    return rel.startsWith('..') ? source : rel.split(sep).join('/');
  };
  const npyPath = `${opts.out}.npy`;
  const namesPath = `${opts.out}.txt`;
  writeFileSync(npyPath, Buffer.from(dump(values, [rows.length, dim])));
  writeFileSync(namesPath, rows.map((row) => nameOf(corpus.records[row].source)).join('\n') + '\n');
  return { npyPath, namesPath, rows: rows.length, dim };
}

/**
 * The corpus's BoVW histograms (`dsi bovw` must have built its index): the indexed images' rows
 * as stored, other images described with SIFT and weighted the same way.
 */
async function bovwEmbeddings(corpus: Corpus, bovw: BovwConfig, rows: number[]): Promise<{ values: Float32Array; dim: number }> {
  const index = await loadBovwIndex(corpus, bovw);
  if (!index) throw new UserError(`no BoVW index for this run's corpus (${corpus.hash}) and bovw settings: build it with \`dsi bovw\` and the run's config first`);
  const dim = index.clusters;
  const idOfRow = new Map(corpus.indexedRows.map((row, id) => [row, id]));
  const values = new Float32Array(rows.length * dim);
  const bar = progressBar('embed (BoVW histograms)', rows.length, 'image');
  rows.forEach((row, i) => {
    const id = idOfRow.get(row);
    if (id !== undefined) values.set(index.unitHistograms.subarray(id * dim, (id + 1) * dim), i * dim);
    else values.set(unitRows(bovwVector(index, index.describe(imagePixels(corpus, row), corpus.imageSize)), 1, dim), i * dim);
    bar.tick(1);
  });
  bar.stop();
  return { values, dim };
}

async function encoderEmbeddings(
  run: Awaited<ReturnType<typeof openRun>>,
  which: Exclude<EmbedModel, 'bovw'>,
  rows: number[],
  batch: number,
): Promise<{ values: Float32Array; dim: number }> {
  const { corpus } = run;
  const ckpt = { dense: run.dense, 'zero-shot': run.indexing, 'fine-tuned': run.retrieval }[which];
  if (!ckpt) {
    throw new UserError(
      which === 'dense'
        ? `run "${run.runName}" has no dense encoder: train one with \`dsi train --resume --run ${run.runName} --set train.dense_epochs=N\``
        : `run "${run.runName}" has no fine-tuned checkpoint (${run.notes.join('; ')})`,
    );
  }
  const model = modelFromState(ckpt.config.model, ckpt.shape, ckpt.weights);
  const size = corpus.imageSize;
  const per = size * size * 3;
  const bar = progressBar(`embed (${which} encoder of ${run.runName})`, rows.length, 'image');
  const parts: Float32Array[] = [];
  let dim = 0;
  for (let first = 0; first < rows.length; first += batch) {
    const chunk = rows.slice(first, first + batch);
    const pixels = new Float32Array(chunk.length * per);
    chunk.forEach((row, i) => pixels.set(corpus.pixels.subarray(row * per, (row + 1) * per), i * per));
    const embedded = tf.tidy(() => imageEmbedding(model, tf.tensor4d(pixels, [chunk.length, size, size, 3]), false));
    dim = embedded.shape[1];
    parts.push((await embedded.data()) as Float32Array);
    embedded.dispose();
    bar.tick(chunk.length);
  }
  bar.stop();
  model.dispose();
  const values = new Float32Array(rows.length * dim);
  parts.reduce((offset, p) => (values.set(p, offset), offset + p.length), 0);
  return { values, dim };
}
