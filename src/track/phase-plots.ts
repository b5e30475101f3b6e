import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keptEpoch } from './compare.ts';
import { phaseCurvesSpec } from './plots/curves.ts';
import { renderPng } from './plots/render.ts';
import { STORE_FILES, type MediaEntry } from './store.ts';
import type { EpochMetrics, Phase } from './types.ts';

/**
 * Draw one phase's training curves into <runDir>/plots/<phase>-curves.png, marked with the
 * indexing threshold, the epoch it stopped at and (retrieval) the epoch whose weights were kept.
 * The one home of that drawing: the tracker calls it as a phase ends, `dsi runs plot` to redraw a
 * stored run (after a plotting fix, or for a run copied from elsewhere). Returns the media entry.
 */
export async function writePhaseCurves(runDir: string, runName: string, phase: Phase, rows: readonly EpochMetrics[], earlyStopAccuracy: number | undefined): Promise<MediaEntry> {
  const own = rows.filter((r) => r.phase === phase);
  const marks = {
    threshold: phase === 'indexing' ? earlyStopAccuracy : undefined,
    stopEpoch: own[own.length - 1]?.epoch,
    keptEpoch: phase === 'retrieval' ? keptEpoch(own)?.epoch : undefined,
  };
  const png = await renderPng(phaseCurvesSpec(runName, phase, rows, marks));
  await mkdir(join(runDir, STORE_FILES.plots), { recursive: true });
  const file = join(STORE_FILES.plots, `${phase}-curves.png`);
  await writeFile(join(runDir, file), png);
  // Logged as an image at the phase's last step (W&B media panel `<phase>/curves`).
  const lastStep = rows.lastIndexOf(own[own.length - 1]);
  return { key: `${phase}/curves`, file, ...(lastStep >= 0 ? { step: lastStep } : {}) };
}
