/**
 * `dsi embed`: one vector per image from a trained run's encoder (mean-pooled patch rows,
 * L2-normalised, as the dense baseline ranks with), written as a NumPy .npy matrix and a text file
 * naming each row's image. The pair is what data.semantic_embeddings / data.semantic_names read,
 * so a run's encoder (e.g. the class-supervised dense one) can give another run its semantic IDs.
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

export type EmbedModel = 'dense' | 'zero-shot' | 'fine-tuned';

export interface EmbedOptions extends Pick<RunOptions, 'checkpointsDir' | 'cacheRoot' | 'log'> {
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
  const run = await openRun({ run: opts.run, backend: opts.backend, checkpointsDir: opts.checkpointsDir, cacheRoot: opts.cacheRoot, log: opts.log });
  const ckpt = { dense: run.dense, 'zero-shot': run.indexing, 'fine-tuned': run.retrieval }[opts.model];
  if (!ckpt) {
    throw new UserError(
      opts.model === 'dense'
        ? `run "${run.runName}" has no dense encoder: train one with \`dsi train --resume --run ${run.runName} --set train.dense_epochs=N\``
        : `run "${run.runName}" has no fine-tuned checkpoint (${run.notes.join('; ')})`,
    );
  }
  const { corpus, config } = run;
  const rows = opts.images === 'indexed' ? [...corpus.indexedRows] : corpus.records.map((r) => r.row);
  const model = modelFromState(ckpt.config.model, ckpt.shape, ckpt.weights);
  const size = corpus.imageSize;
  const per = size * size * 3;
  const batch = config.decode.batch_size;
  const bar = progressBar(`embed (${opts.model} encoder of ${run.runName})`, rows.length, 'image');
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
