import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { PROJECT_ROOT } from '../config/load.ts';
import type { EpochMetrics, Phase, RunStartInfo, RunTracker } from './types.ts';

export const EXPERIMENTS_DIR = join(PROJECT_ROOT, 'experiments');

/**
 * The local run store: experiments/<run>/ with config.yaml, run.json and metrics.jsonl.
 * (Minimal version; the tracking issue adds W&B, plots and summaries behind this interface.)
 */
export function createTracker(runName: string, experimentsDir = EXPERIMENTS_DIR): RunTracker {
  const dir = join(experimentsDir, runName);
  return {
    runName,
    dir,
    async start(info: RunStartInfo) {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'config.yaml'), stringify(info.config));
      const run = { run: runName, corpus_hash: info.corpusHash, backend: info.backend, resumed: info.resumed, started: new Date().toISOString() };
      await writeFile(join(dir, 'run.json'), JSON.stringify(run, null, 2) + '\n');
    },
    async logEpoch(row: EpochMetrics) {
      await appendFile(join(dir, 'metrics.jsonl'), JSON.stringify(row) + '\n');
    },
    async endPhase(_phase: Phase) {},
    async logSummary(values) {
      await writeFile(join(dir, 'summary.json'), JSON.stringify(values, null, 2) + '\n');
    },
    async finish() {},
  };
}
