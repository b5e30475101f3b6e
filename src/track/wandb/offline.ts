import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STORE_FILES } from '../store.ts';
import type { WandbIdentity } from './payload.ts';

/** experiments/<run>/wandb-offline/: exactly what would have been sent, for `dsi runs sync`. */
export const OFFLINE_FILES = {
  run: 'run.json', // { identity, config (flat), commit }
  history: 'history.jsonl', // { _step, 'indexing/loss': ..., ... }
  summary: 'summary.json',
} as const;

export interface OfflineRunFile {
  identity: WandbIdentity;
  config: Record<string, unknown>;
  commit: string;
}

export function offlineDir(runDir: string): string {
  return join(runDir, STORE_FILES.wandbOffline);
}

export class OfflineWandbRun {
  private readonly dir: string;
  constructor(runDir: string) {
    this.dir = offlineDir(runDir);
  }

  /** On resume the history file is kept and appended to; run.json is rewritten (same identity). */
  async open(identity: WandbIdentity, flatConfig: Record<string, unknown>, commit: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file: OfflineRunFile = { identity, config: flatConfig, commit };
    await writeFile(join(this.dir, OFFLINE_FILES.run), JSON.stringify(file, null, 2) + '\n');
  }

  async log(history: Record<string, number>, step: number): Promise<void> {
    await appendFile(join(this.dir, OFFLINE_FILES.history), JSON.stringify({ _step: step, ...history }) + '\n');
  }

  async setSummary(summary: Record<string, number | string>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(join(this.dir, OFFLINE_FILES.summary), JSON.stringify(summary, null, 2) + '\n');
  }
}
