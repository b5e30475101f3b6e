/**
 * A short run reported through the tracker the way the trainer and `dsi eval` report, in its own
 * process (so tests see its whole stdout/stderr and that it exits on its own).
 * usage: tracked-run.ts <experimentsDir> <runName> [section.key=value ...]
 *
 * Environment knobs, so tests can stage resumes, branches and failures like the trainer's:
 *   DSI_TEST_SCHEDULE       epochs to log, default "indexing:1-6,retrieval:1-4" (a resume starts later)
 *   DSI_TEST_RESUMED=1      start as `dsi train --resume` does
 *   DSI_TEST_BRANCHED_FROM  start as `dsi train --from RUN` does (the store is seeded by the test)
 *   DSI_TEST_EPOCH_MS       pause after each epoch, so a test can act mid-run
 *   DSI_TEST_HANG=1         after the last epoch, neither end the phase nor finish: wait to be killed
 *   DSI_TEST_TIMING_FILE    write {start_ms, finish_ms, epochs_ms} there: how long the tracker held the run up
 */
import { writeFileSync } from 'node:fs';
import { loadConfig } from '../../src/config/load.ts';
import { createTracker } from '../../src/track/tracker.ts';
import type { EpochMetrics, Phase } from '../../src/track/types.ts';

const [experimentsDir, runName, ...overrides] = process.argv.slice(2);
const env = process.env;
const { config } = loadConfig(null, overrides);
const tracker = createTracker(runName, experimentsDir, { timeoutMs: Number(env.DSI_TEST_WANDB_TIMEOUT_MS ?? 2000) });
const t0 = performance.now();
await tracker.start({ config, corpusHash: 'c0ffee', backend: 'cpu', resumed: env.DSI_TEST_RESUMED === '1', branchedFrom: env.DSI_TEST_BRANCHED_FROM || undefined });

const startMs = performance.now() - t0;
let epochsMs = 0;
const schedule = (env.DSI_TEST_SCHEDULE ?? 'indexing:1-6,retrieval:1-4').split(',').map((part) => {
  const [phase, range] = part.split(':');
  const [first, last] = range.split('-').map(Number);
  return { phase: phase as Phase, first, last };
});
const pause = Number(env.DSI_TEST_EPOCH_MS ?? 0);
let wall = 0;
for (const [i, { phase, first, last }] of schedule.entries()) {
  for (let epoch = first; epoch <= last; epoch++) {
    wall += 1.5;
    const row: EpochMetrics = {
      phase, epoch,
      loss: 2.4 / epoch, token_accuracy: 1 - 0.5 / epoch, id_accuracy: 1 - 0.8 / epoch,
      learning_rate: 1e-3, images_per_sec: 120 + epoch, wall_time_s: wall,
    };
    if (phase === 'retrieval') Object.assign(row, { val_loss: 3 / epoch, val_token_accuracy: 0.9 - 0.4 / epoch, val_id_accuracy: 0.7 - 0.5 / epoch });
    const t = performance.now();
    await tracker.logEpoch(row);
    epochsMs += performance.now() - t;
    if (pause) await new Promise((resolve) => setTimeout(resolve, pause));
  }
  if (env.DSI_TEST_HANG === '1' && i === schedule.length - 1) {
    // A process that dies mid-run: the test kills it once W&B has what it was sent.
    setInterval(() => {}, 1000);
    await new Promise(() => {});
  }
  await tracker.endPhase(phase);
}
await tracker.logSummary({ 'eval/ia@1': 0.95, 'eval/map@10': 0.41, 'eval/recall@100': 0.77 });
const t1 = performance.now();
await tracker.finish();
if (env.DSI_TEST_TIMING_FILE) writeFileSync(env.DSI_TEST_TIMING_FILE, JSON.stringify({ start_ms: startMs, epochs_ms: epochsMs, finish_ms: performance.now() - t1 }));
