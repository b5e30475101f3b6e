/**
 * Checkpoints: checkpoints/<run>/{indexing,retrieval,last}/, each a folder of plain files
 *   weights.bin + weights.json       model variables (see tensor-files.ts)
 *   optimizer.bin + optimizer.json   optimizer slots and step count
 *   trainer.json                     TrainerState (phase, epoch, Rng state, best metric, streak, step)
 *   config.json                      the resolved config the run trains with
 *   checkpoint.json                  manifest: corpus hash, model shape, sha256 + size of every file above
 * A folder is written under a temporary name and renamed into place, so a reader sees the old
 * checkpoint or the new one, never a half-written one; on load every file is checked against the
 * manifest and a mismatch is refused with a UserError naming the file.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { validateConfig, ConfigError } from '../config/load.ts';
import type { DsiConfig } from '../config/schema.ts';
import { UserError } from '../runtime/errors.ts';
import { shownPath as shown } from '../runtime/log.ts';
import { checkpointsRoot } from '../runtime/paths.ts';
import type { Corpus, EngineState, ModelShape, NamedArray, TrainerState } from '../types.ts';
import { packTensors, sha256, unpackTensors, type TensorIndex } from './tensor-files.ts';

export const CHECKPOINT_FORMAT = 'dsi-checkpoint/1';
/**
 * `dense`: the dual-encoder baseline (src/train/dense/), stored beside the DSI checkpoints;
 * `dense-partial`: its training state after the last finished epoch, until `dense` is written.
 */
export type CheckpointKind = 'indexing' | 'retrieval' | 'last' | 'dense' | 'dense-partial';
export const CHECKPOINT_KINDS: readonly CheckpointKind[] = ['indexing', 'retrieval', 'last'];

interface Manifest {
  format: typeof CHECKPOINT_FORMAT;
  run: string;
  kind: CheckpointKind;
  created: string;
  corpus_hash: string;
  shape: ModelShape;
  backend: string;
  files: Record<string, { sha256: string; bytes: number }>;
}

export interface CheckpointData {
  config: DsiConfig;
  corpusHash: string;
  shape: ModelShape;
  backend: string;
  engine: EngineState;
  trainer: TrainerState;
}

export interface LoadedCheckpoint extends CheckpointData {
  run: string;
  kind: CheckpointKind;
  /** Folder it was read from. */
  dir: string;
  created: string;
  /** Shortcut for eval/search: the model variables. */
  weights: NamedArray[];
}

/** Run names become folder names: keep them to one safe path segment. */
export function assertRunName(run: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(run)) {
    throw new UserError(`run name "${run}" must start with a letter or digit and contain only letters, digits, ".", "_" and "-"`);
  }
}

/** The shape a model trained on this corpus has (recorded in every checkpoint). */
export function modelShapeOf(corpus: Pick<Corpus, 'imageSize' | 'idLength'>): ModelShape {
  return { imageSize: corpus.imageSize, idLength: corpus.idLength };
}

export function checkpointDir(run: string, kind: CheckpointKind, root = checkpointsRoot()): string {
  assertRunName(run);
  return join(root, run, kind);
}

async function writeDurable(path: string, data: Uint8Array | string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync(); // the rename below must never publish a folder whose bytes are still in flight
  } finally {
    await fh.close();
  }
}

/** Write one checkpoint folder atomically (temp folder + rename), replacing any previous one. */
export async function saveCheckpoint(run: string, kind: CheckpointKind, data: CheckpointData, root = checkpointsRoot()): Promise<string> {
  const target = checkpointDir(run, kind, root);
  const runDir = join(root, run);
  await mkdir(runDir, { recursive: true });
  const tmp = join(runDir, `.tmp-${kind}-${process.pid}-${Date.now()}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  try {
    await writeCheckpointFolder(tmp, run, kind, data);
  } catch (err) {
    // A full disk must not stay full: the half-written folder goes (lockRun also sweeps those of dead processes).
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw err;
  }

  // rename() cannot replace a non-empty folder, so the old one steps aside first. A crash between
  // the two renames leaves `.old-<kind>`, which loadCheckpoint falls back to.
  const old = join(runDir, `.old-${kind}`);
  await rm(old, { recursive: true, force: true });
  if (existsSync(target)) await rename(target, old);
  await rename(tmp, target);
  await rm(old, { recursive: true, force: true });
  return target;
}

async function writeCheckpointFolder(tmp: string, run: string, kind: CheckpointKind, data: CheckpointData): Promise<void> {

  const files: Record<string, Uint8Array> = {};
  const weights = packTensors(data.engine.weights);
  files['weights.bin'] = weights.binary;
  files['weights.json'] = json(weights.index);
  const optimizer = packTensors(data.engine.optimizer);
  files['optimizer.bin'] = optimizer.binary;
  files['optimizer.json'] = json({ ...optimizer.index, step: data.engine.step });
  files['trainer.json'] = json(data.trainer);
  files['config.json'] = json(data.config);
  const manifest: Manifest = {
    format: CHECKPOINT_FORMAT,
    run,
    kind,
    created: new Date().toISOString(),
    corpus_hash: data.corpusHash,
    shape: data.shape,
    backend: data.backend,
    files: {},
  };
  for (const [name, bytes] of Object.entries(files)) {
    await writeDurable(join(tmp, name), bytes);
    manifest.files[name] = { sha256: sha256(bytes), bytes: bytes.byteLength };
  }
  // The manifest goes last: a folder without one was never finished.
  await writeDurable(join(tmp, 'checkpoint.json'), json(manifest));
}

function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value, null, 1) + '\n');
}

/**
 * Read and verify a checkpoint for eval/search/resume. Throws UserError when it is missing,
 * incomplete or damaged (naming the file), never returns a half-loaded one.
 */
export async function loadCheckpoint(run: string, which: CheckpointKind, root = checkpointsRoot()): Promise<LoadedCheckpoint> {
  let dir = checkpointDir(run, which, root);
  if (!existsSync(dir)) {
    const interrupted = join(root, run, `.old-${which}`);
    if (existsSync(join(interrupted, 'checkpoint.json'))) dir = interrupted;
    else if (!existsSync(join(root, run)) || !statSync(join(root, run)).isDirectory()) throw new UserError(`no run "${run}" in ${shown(root)}/ (see \`dsi runs\`)`);
    else throw new UserError(`run "${run}" has no ${which} checkpoint (${shown(dir)} does not exist)`);
  }
  const where = shown(dir);
  const damaged = (why: string) =>
    new UserError(`checkpoint ${where} is damaged or incomplete: ${why}; refusing to load it`);

  const manifest = await readJson<Manifest>(join(dir, 'checkpoint.json'), damaged);
  if (manifest.format !== CHECKPOINT_FORMAT) throw damaged(`checkpoint.json has format "${manifest.format}", expected ${CHECKPOINT_FORMAT}`);
  const required = ['weights.bin', 'weights.json', 'optimizer.bin', 'optimizer.json', 'trainer.json', 'config.json'];
  const bytes: Record<string, Uint8Array> = {};
  for (const name of required) {
    const expected = manifest.files?.[name];
    if (!expected) throw damaged(`checkpoint.json does not list ${name}`);
    const path = join(dir, name);
    if (!existsSync(path)) throw damaged(`${name} is missing`);
    const size = (await stat(path)).size;
    if (size !== expected.bytes) throw damaged(`${name} has ${size} bytes, checkpoint.json says ${expected.bytes}`);
    const data = new Uint8Array(await readFile(path));
    if (sha256(data) !== expected.sha256) throw damaged(`${name} does not match its sha256 in checkpoint.json (the file was changed)`);
    bytes[name] = data;
  }
  const parse = <T>(name: string): T => {
    try {
      return JSON.parse(new TextDecoder().decode(bytes[name])) as T;
    } catch (e) {
      throw damaged(`${name} is not valid JSON (${(e as Error).message})`);
    }
  };
  let weights: NamedArray[];
  let optimizer: NamedArray[];
  const optimizerIndex = parse<TensorIndex & { step: number }>('optimizer.json');
  try {
    weights = unpackTensors(bytes['weights.bin'], parse<TensorIndex>('weights.json'), 'weights.bin');
    optimizer = unpackTensors(bytes['optimizer.bin'], optimizerIndex, 'optimizer.bin');
  } catch (e) {
    throw damaged((e as Error).message);
  }
  let config: DsiConfig;
  try {
    config = validateConfig(parse('config.json'), join(dir, 'config.json'));
  } catch (e) {
    if (e instanceof ConfigError) throw damaged(`its config.json no longer validates: ${e.message}`);
    throw e;
  }
  return {
    run,
    kind: which,
    dir,
    created: manifest.created,
    config,
    corpusHash: manifest.corpus_hash,
    shape: manifest.shape,
    backend: manifest.backend,
    engine: { weights, optimizer, step: optimizerIndex.step },
    trainer: parse<TrainerState>('trainer.json'),
    weights,
  };
}

async function readJson<T>(path: string, damaged: (why: string) => Error): Promise<T> {
  if (!existsSync(path)) throw damaged(`${path.split('/').pop()} is missing`);
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (e) {
    throw damaged(`${path.split('/').pop()} is not valid JSON (${(e as Error).message})`);
  }
}

/**
 * What stops a checkpoint from being used with this config and corpus: one line per difference,
 * e.g. "model.embed_dim: checkpoint 64, config 128". Training keys may differ (e.g. more epochs).
 */
export function checkpointMismatches(ckpt: Pick<CheckpointData, 'config' | 'corpusHash' | 'shape'>, config: DsiConfig, corpusHash: string, shape?: ModelShape): string[] {
  const out: string[] = [];
  const a = ckpt.config.model as Record<string, unknown>;
  const b = config.model as Record<string, unknown>;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) {
      out.push(`model.${key}: checkpoint ${JSON.stringify(a[key])}, config ${JSON.stringify(b[key])}`);
    }
  }
  if (ckpt.corpusHash !== corpusHash) {
    out.push(`corpus hash: checkpoint ${ckpt.corpusHash}, current data ${corpusHash} (a different data config or source)`);
  }
  if (shape && (shape.imageSize !== ckpt.shape.imageSize || shape.idLength !== ckpt.shape.idLength)) {
    out.push(`image size / ID length: checkpoint ${ckpt.shape.imageSize}px / ${ckpt.shape.idLength} digits, corpus ${shape.imageSize}px / ${shape.idLength} digits`);
  }
  return out;
}

export function assertCompatible(ckpt: LoadedCheckpoint, config: DsiConfig, corpusHash: string, shape?: ModelShape): void {
  const diffs = checkpointMismatches(ckpt, config, corpusHash, shape);
  if (diffs.length > 0) {
    throw new UserError(`checkpoint ${shown(ckpt.dir)} does not match the current config/data:\n  ${diffs.join('\n  ')}`);
  }
}
