/**
 * What `dsi train` prints when it ends: the run, each phase, where the curves and checkpoints are,
 * and the commands that come next.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { shownPath } from '../runtime/log.ts';
import type { TrainerState } from '../types.ts';

export interface TrainingOutcome {
  runName: string;
  backend: string;
  completed: boolean;
  state: TrainerState;
  checkpointsDir: string;
  /** experiments/<run>/ */
  experimentsDir: string;
}

export function trainingSummary(r: TrainingOutcome): string[] {
  const s = r.state;
  const plotsDir = join(r.experimentsDir, 'plots');
  const plots = existsSync(plotsDir) ? readdirSync(plotsDir).filter((f) => f.endsWith('.png')).sort().map((f) => shownPath(join(plotsDir, f))) : [];
  const lines = [
    `run ${r.runName} (${r.backend}): ${r.completed ? 'finished' : 'stopped'}`,
    `  indexing: ${s.indexingEpochsRun ?? s.epoch} epochs, exact-ID accuracy ${s.indexingAccuracy?.toFixed(4) ?? 'n/a (phase not finished)'}`,
    `  retrieval: best val loss ${s.bestValLoss?.toFixed(4) ?? 'n/a'} at epoch ${s.bestEpoch ?? 'n/a'}`,
    `  training time ${s.wallTimeS.toFixed(1)} s, ${s.step} steps`,
    `  checkpoints: ${shownPath(r.checkpointsDir)}`,
    `  metrics: ${shownPath(join(r.experimentsDir, 'metrics.jsonl'))}`,
    plots.length ? `  plots: ${plots.join(', ')}` : `  plots: none yet (drawn when a phase ends, in ${shownPath(plotsDir)})`,
    'next:',
  ];
  if (!r.completed) lines.push(`  dsi train --resume --run ${r.runName}     # continue where it stopped`);
  if (s.indexingAccuracy !== null || s.phase !== 'indexing') {
    lines.push(
      `  dsi eval --run ${r.runName}               # BoVW, zero-shot and fine-tuned ViT on the test queries`,
      `  dsi search IMAGE --run ${r.runName} --png sheet.png   # rank the indexed images for a photo`,
    );
  }
  lines.push('  dsi runs list                            # every run, with its status and headline metrics');
  return lines;
}
