import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonIfExists, readMetrics, STORE_FILES, type RunRecord } from './store.ts';

/**
 * Starts the run store of a branch (`dsi train --from SOURCE`): the source's phase-1 history and
 * curves, and a run record that says where the branch came from, so `dsi runs` and the plots
 * show the whole training behind the branch's checkpoints. The tracker then continues it like a
 * resumed run.
 */
export function seedBranchStore(experimentsDir: string, source: string, branch: string): void {
  const from = join(experimentsDir, source);
  const to = join(experimentsDir, branch);
  mkdirSync(join(to, STORE_FILES.plots), { recursive: true });
  const indexingRows = readMetrics(from).filter((r) => r.phase === 'indexing');
  writeFileSync(join(to, STORE_FILES.metrics), indexingRows.map((r) => JSON.stringify(r) + '\n').join(''));
  const curves = join(from, STORE_FILES.plots, 'indexing-curves.png');
  if (existsSync(curves)) copyFileSync(curves, join(to, STORE_FILES.plots, 'indexing-curves.png'));
  const sourceRecord = readJsonIfExists<RunRecord>(join(from, STORE_FILES.run));
  const record: Partial<RunRecord> = {
    run: branch,
    started: new Date().toISOString(),
    branched_from: source,
    phases_done: ['indexing'],
    ...(sourceRecord ? { corpus_hash: sourceRecord.corpus_hash } : {}),
  };
  writeFileSync(join(to, STORE_FILES.run), JSON.stringify(record, null, 2) + '\n');
}
