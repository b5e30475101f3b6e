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

function historyLine(history: Record<string, number>, step: number): string {
  return JSON.stringify({ _step: step, ...history }) + '\n';
}

export class OfflineWandbRun {
  private readonly dir: string;
  constructor(runDir: string) {
    this.dir = offlineDir(runDir);
  }

  /**
   * `history`: the rows a continued run (resumed, or a branch) already has in the local store. The
   * history file is rewritten from them rather than appended to, so it holds every step from 0
   * even when earlier segments went online or the store was seeded from another run: a sync
   * uploads it from offset 0, and a partial file would overwrite the first lines on W&B.
   */
  async open(identity: WandbIdentity, flatConfig: Record<string, unknown>, commit: string, history: ReadonlyArray<Record<string, number>>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file: OfflineRunFile = { identity, config: flatConfig, commit };
    await writeFile(join(this.dir, OFFLINE_FILES.run), JSON.stringify(file, null, 2) + '\n');
    await writeFile(join(this.dir, OFFLINE_FILES.history), history.map((row, step) => historyLine(row, step)).join(''));
  }

  async log(history: Record<string, number>, step: number): Promise<void> {
    await appendFile(join(this.dir, OFFLINE_FILES.history), historyLine(history, step));
  }

  async setSummary(summary: Record<string, number | string>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(join(this.dir, OFFLINE_FILES.summary), JSON.stringify(summary, null, 2) + '\n');
  }
}
