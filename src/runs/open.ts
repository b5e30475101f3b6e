/**
 * Opening a trained run for `dsi eval` and `dsi search`: the run (by name or the latest), its
 * checkpoints (indexing = zero-shot, retrieval = fine-tuned), the config they were trained with
 * (eval/decode/bovw keys may be changed by --config/--set), the backend and the corpus.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigOrDefault } from '../config/load.ts';
import type { DsiConfig } from '../config/schema.ts';
import { loadCorpusByHash, prepareCorpus } from '../data/corpus.ts';
import { initBackend, type BackendChoice } from '../runtime/backend.ts';
import { UserError } from '../runtime/errors.ts';
import { logToStderr, shownPath as shown, type Log } from '../runtime/log.ts';
import type { Corpus } from '../types.ts';
import { checkpointsRoot } from '../runtime/paths.ts';
import { assertCompatible, loadCheckpoint, modelShapeOf, type LoadedCheckpoint } from './checkpoint.ts';
import { configForRun, EVAL_SECTIONS } from './config.ts';
import { resolveRunName } from './resolve.ts';

export interface RunOptions {
  /** A run name, or 'latest' / undefined for the run trained most recently. */
  run?: string;
  configFile?: string | null;
  overrides?: string[];
  backend?: BackendChoice;
  checkpointsDir?: string;
  cacheRoot?: string;
  log?: Log;
}

export interface OpenedRun {
  runName: string;
  config: DsiConfig;
  corpus: Corpus;
  backend: string;
  /** After phase 1 ("zero-shot"). */
  indexing: LoadedCheckpoint;
  /** After phase 2 ("fine-tuned"); null when the run has none (with the reason in `notes`). */
  retrieval: LoadedCheckpoint | null;
  /** The dense dual-encoder baseline (train.dense_epochs > 0), when trained. */
  dense: LoadedCheckpoint | null;
  notes: string[];
}

export async function openRun(opts: RunOptions): Promise<OpenedRun> {
  const log = opts.log ?? logToStderr;
  const root = opts.checkpointsDir ?? checkpointsRoot();
  const runName = await resolveRunName(opts.run, root);
  if (!isFolder(join(root, runName))) {
    throw new UserError(`no run "${runName}" in ${shown(root)}/: train it with \`dsi train --config <config> --run ${runName}\``);
  }
  if (!existsSync(join(root, runName, 'indexing')) && !existsSync(join(root, runName, '.old-indexing'))) {
    throw new UserError(
      `run "${runName}" has no indexing checkpoint yet (phase 1 has not finished): continue it with \`dsi train --resume --run ${runName}\``,
    );
  }
  const indexing = await loadCheckpoint(runName, 'indexing', root);
  const notes: string[] = [];
  let retrieval: LoadedCheckpoint | null = null;
  if (existsSync(join(root, runName, 'retrieval')) || existsSync(join(root, runName, '.old-retrieval'))) {
    retrieval = await loadCheckpoint(runName, 'retrieval', root);
  } else if (indexing.config.train.retrieval_epochs === 0) {
    notes.push('no fine-tuned row: this run was trained with train.retrieval_epochs=0 (phase 1 only)');
  } else {
    notes.push(`no fine-tuned row: run "${runName}" has no retrieval checkpoint yet; \`dsi train --resume --run ${runName}\` trains phase 2`);
  }

  const dense = existsSync(join(root, runName, 'dense', 'checkpoint.json')) ? await loadCheckpoint(runName, 'dense', root) : null;

  const config = configForRun((retrieval ?? indexing).config, { configFile: opts.configFile ?? null, overrides: opts.overrides ?? [], sections: EVAL_SECTIONS });
  const backend = await initBackend(opts.backend ?? 'auto');
  const corpus = await corpusFor(indexing, config, opts.cacheRoot, log);
  for (const ckpt of [indexing, retrieval, dense]) if (ckpt) assertCompatible(ckpt, { ...config, model: ckpt.config.model }, corpus.hash, modelShapeOf(corpus));
  return { runName, config, corpus, backend, indexing, retrieval, dense, notes };
}

/** checkpoints/README.md and other files beside the runs are never runs. */
function isFolder(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/** A config's corpus (and its settings) without any run: enough for BoVW, which trains nothing. */
export async function openCorpusOnly(opts: RunOptions): Promise<{ config: DsiConfig; corpus: Corpus }> {
  // Without --config, the same default as `dsi train`: the embedded quickstart corpus.
  const { config } = loadConfigOrDefault(opts.configFile, opts.overrides ?? [], opts.log ?? logToStderr);
  return { config, corpus: await prepareCorpus(config.data, { cacheRoot: opts.cacheRoot }) };
}

/**
 * A run's corpus and its config (eval/bovw keys changeable by --config/--set), without loading a
 * model or a backend: `dsi bovw --run R` builds R's baseline without repeating its data settings.
 */
export async function openRunCorpus(opts: RunOptions): Promise<{ runName: string; config: DsiConfig; corpus: Corpus }> {
  const log = opts.log ?? logToStderr;
  const root = opts.checkpointsDir ?? checkpointsRoot();
  const runName = await resolveRunName(opts.run, root);
  if (!existsSync(join(root, runName))) throw new UserError(`no run "${runName}" in ${shown(root)}/ (see \`dsi runs list\`)`);
  const kind = ['last', 'indexing'].find((k) => existsSync(join(root, runName, k)) || existsSync(join(root, runName, `.old-${k}`))) as 'last' | 'indexing' | undefined;
  if (!kind) throw new UserError(`run "${runName}" has no checkpoint yet: it has no recorded config to build from`);
  const ckpt = await loadCheckpoint(runName, kind, root);
  const config = configForRun(ckpt.config, { configFile: opts.configFile ?? null, overrides: opts.overrides ?? [], sections: EVAL_SECTIONS });
  return { runName, config, corpus: await corpusFor(ckpt, config, opts.cacheRoot, log) };
}

/** The corpus the run trained on: from the cache by hash, else rebuilt from the run's data config. */
async function corpusFor(ckpt: LoadedCheckpoint, config: DsiConfig, cacheRoot: string | undefined, log: Log): Promise<Corpus> {
  try {
    return await loadCorpusByHash(ckpt.corpusHash, cacheRoot);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
  }
  log(`corpus ${ckpt.corpusHash} is not cached; rebuilding it from the run's data config`);
  return prepareCorpus(config.data, { cacheRoot });
}
