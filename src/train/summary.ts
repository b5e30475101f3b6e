/**
 * What `dsi train` prints when it ends: the run, each phase, where the curves and checkpoints are,
 * and the commands that come next.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { shownPath } from '../runtime/log.ts';
import type { TrainConfig } from '../config/sections/train.ts';
import type { TrainerState } from '../types.ts';
import { bestRetrievalOf } from './phases.ts';

/** The config keys that say how phase 2 chose its kept epoch. */
export type Selection = Pick<TrainConfig, 'select_on' | 'select_min_ia'>;

export interface TrainingOutcome {
  runName: string;
  backend: string;
  completed: boolean;
  state: TrainerState;
  checkpointsDir: string;
  /** experiments/<run>/ */
  experimentsDir: string;
  /** Absent: selected on val loss. */
  selection?: Selection;
}

/** Which phase-2 epoch was kept and why; says so when no epoch reached the IA@1 floor. */
export function keptLine(state: TrainerState, train: Selection): string {
  const best = bestRetrievalOf(state);
  if (train.select_on === 'val_p10' && best) {
    const floor = best.ia >= train.select_min_ia
      ? `the best val P@10 among epochs with IA@1 >= ${train.select_min_ia}`
      : `NO epoch reached IA@1 >= ${train.select_min_ia} (train.select_min_ia): kept the one with the highest IA@1`;
    return `kept retrieval epoch ${state.bestEpoch}, ${floor} (val P@10 ${best.p10.toFixed(3)}, IA@1 ${best.ia.toFixed(3)}, val loss ${state.bestValLoss?.toFixed(4) ?? 'n/a'})`;
  }
  return `best val loss ${state.bestValLoss?.toFixed(4) ?? 'n/a'} at retrieval epoch ${state.bestEpoch ?? 'n/a'}`;
}

export function trainingSummary(r: TrainingOutcome): string[] {
  const s = r.state;
  const plotsDir = join(r.experimentsDir, 'plots');
  const plots = existsSync(plotsDir) ? readdirSync(plotsDir).filter((f) => f.endsWith('.png')).sort().map((f) => shownPath(join(plotsDir, f))) : [];
  const lines = [
    `run ${r.runName} (${r.backend}): ${r.completed ? 'finished' : 'stopped'}`,
    `  indexing: ${s.indexingEpochsRun ?? s.epoch} epochs, exact-ID accuracy ${s.indexingAccuracy?.toFixed(4) ?? 'n/a (phase not finished)'}`,
    `  retrieval: ${keptLine(s, r.selection ?? { select_on: 'val_loss', select_min_ia: 0 })}`,
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
