/**
 * A short run reported through the tracker the way the trainer and `dsi eval` report, in its own
 * process (so tests see its whole stdout/stderr and that it exits on its own).
 * usage: tracked-run.ts <experimentsDir> <runName> [section.key=value ...]
 */
import { loadConfig } from '../../src/config/load.ts';
import { createTracker } from '../../src/track/tracker.ts';
import type { EpochMetrics, Phase } from '../../src/track/types.ts';

const [experimentsDir, runName, ...overrides] = process.argv.slice(2);
const { config } = loadConfig(null, overrides);
const tracker = createTracker(runName, experimentsDir, { timeoutMs: Number(process.env.DSI_TEST_WANDB_TIMEOUT_MS ?? 2000) });
await tracker.start({ config, corpusHash: 'c0ffee', backend: 'cpu', resumed: false });

const schedule: Array<[Phase, number]> = [['indexing', 6], ['retrieval', 4]];
let wall = 0;
for (const [phase, epochs] of schedule) {
  for (let epoch = 1; epoch <= epochs; epoch++) {
    wall += 1.5;
    const row: EpochMetrics = {
      phase, epoch,
      loss: 2.4 / epoch, token_accuracy: 1 - 0.5 / epoch, id_accuracy: 1 - 0.8 / epoch,
      learning_rate: 1e-3, images_per_sec: 120 + epoch, wall_time_s: wall,
    };
    if (phase === 'retrieval') Object.assign(row, { val_loss: 3 / epoch, val_token_accuracy: 0.9 - 0.4 / epoch, val_id_accuracy: 0.7 - 0.5 / epoch });
    await tracker.logEpoch(row);
  }
  await tracker.endPhase(phase);
}
await tracker.logSummary({ 'eval/ia@1': 0.95, 'eval/map@10': 0.41, 'eval/recall@100': 0.77 });
await tracker.finish();
