/**
 * What `dsi eval` and `dsi search` need before ranking anything: the run (by name or the latest),
 * its checkpoints (indexing = zero-shot, retrieval = fine-tuned), the config they were trained
 * with (eval/decode/bovw keys may be changed by --config/--set), the backend and the corpus.
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { applyOverride, loadConfig, validateConfig } from '../config/load.ts';
import type { DsiConfig } from '../config/schema.ts';
import { loadCorpusByHash, prepareCorpus } from '../data/corpus.ts';
import type { Corpus } from '../data/types.ts';
import { initBackend, type BackendChoice } from '../runtime/backend.ts';
import { UserError } from '../runtime/errors.ts';
import { assertCompatible, CHECKPOINTS_DIR, latestRun, loadCheckpoint, type LoadedCheckpoint } from '../train/checkpoint.ts';
import { modelShapeOf } from '../train/trainer.ts';

export interface RunOptions {
  /** A run name, or 'latest' / undefined for the run trained most recently. */
  run?: string;
  configFile?: string | null;
  overrides?: string[];
  backend?: BackendChoice;
  checkpointsDir?: string;
  cacheRoot?: string;
  log?: (line: string) => void;
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
  notes: string[];
}

// Keys that may differ from the training config: they change how a run is evaluated, not what it is.
const EVAL_SECTIONS = ['decode', 'eval', 'bovw', 'tracking'] as const;

export async function openRun(opts: RunOptions): Promise<OpenedRun> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const root = opts.checkpointsDir ?? CHECKPOINTS_DIR;
  const runName = await resolveRunName(opts.run, root);
  if (!existsSync(join(root, runName))) {
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

  const config = evaluationConfig((retrieval ?? indexing).config, opts.configFile ?? null, opts.overrides ?? []);
  const backend = await initBackend(opts.backend ?? 'auto');
  const corpus = await corpusFor(indexing, config, opts.cacheRoot, log);
  for (const ckpt of [indexing, retrieval]) if (ckpt) assertCompatible(ckpt, { ...config, model: ckpt.config.model }, corpus.hash, modelShapeOf(corpus));
  return { runName, config, corpus, backend, indexing, retrieval, notes };
}

/** A config's corpus (and its settings) without any run: enough for BoVW, which trains nothing. */
export async function openCorpusOnly(opts: RunOptions): Promise<{ config: DsiConfig; corpus: Corpus }> {
  const { config } = loadConfig(opts.configFile ?? null, opts.overrides ?? []);
  return { config, corpus: await prepareCorpus(config.data, { cacheRoot: opts.cacheRoot }) };
}

async function resolveRunName(run: string | undefined, root: string): Promise<string> {
  if (run && run !== 'latest') return run;
  try {
    return await latestRun(root);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`no trained run in ${shown(root)}/: \`dsi train --config configs/quickstart.yaml\` trains one`);
    throw e;
  }
}

/** The run's config with the evaluation sections taken from --config (if given) and --set. */
function evaluationConfig(trained: DsiConfig, configFile: string | null, overrides: string[]): DsiConfig {
  const raw = structuredClone(trained) as unknown as Record<string, unknown>;
  if (configFile) {
    const asked = loadConfig(configFile).config as unknown as Record<string, unknown>;
    for (const s of EVAL_SECTIONS) raw[s] = asked[s];
  }
  const overridden = new Set<string>();
  for (const o of overrides) {
    const section = o.split('.')[0];
    if (!(EVAL_SECTIONS as readonly string[]).includes(section)) {
      throw new UserError(`--set ${o}: only ${EVAL_SECTIONS.join(', ')} keys can change at evaluation; data and model are the run's own`);
    }
    overridden.add(applyOverride(raw, o));
  }
  return validateConfig(raw, null, overridden);
}

/** The corpus the run trained on: from the cache by hash, else rebuilt from the run's data config. */
async function corpusFor(ckpt: LoadedCheckpoint, config: DsiConfig, cacheRoot: string | undefined, log: (l: string) => void): Promise<Corpus> {
  try {
    return await loadCorpusByHash(ckpt.corpusHash, cacheRoot);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
  }
  log(`corpus ${ckpt.corpusHash} is not cached; rebuilding it from the run's data config`);
  return prepareCorpus(config.data, { cacheRoot });
}

function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}
