import type { DsiConfig } from '../config/schema.ts';

/** The two training phases, in the order they run. */
export const PHASES = ['indexing', 'retrieval'] as const;
export type Phase = (typeof PHASES)[number];

/** One row of per-epoch history (written as a JSON line, logged to W&B as `<phase>/<key>`). */
export interface EpochMetrics {
  phase: Phase;
  epoch: number;
  loss: number;
  token_accuracy: number;
  id_accuracy: number;
  val_loss?: number;
  val_token_accuracy?: number;
  val_id_accuracy?: number;
  /** Mean P@10 of the val queries, decoded as eval does (phase 2 under train.select_on=val_p10). */
  val_p10?: number;
  /** IA@1 on the indexed images as `dsi eval` measures it (beam search; phase 2 under select_on=val_p10). */
  ia?: number;
  /** Exact-ID accuracy of the un-augmented indexed images in eval mode = greedy IA@1 (phase 1 under early_stop_measure=clean). */
  clean_id_accuracy?: number;
  /** Phase 2: the epoch whose checkpoint is kept so far (by train.select_on). Older runs lack it. */
  best_epoch?: number;
  learning_rate: number;
  images_per_sec: number;
  wall_time_s: number;
  /** When the epoch ended (unix seconds); sent to W&B as the row's `_timestamp`. Older runs lack it. */
  timestamp?: number;
}

export interface RunStartInfo {
  config: DsiConfig;
  corpusHash: string;
  backend: string;
  resumed: boolean;
  /** A branch (`dsi train --from RUN`) keeps the phase-1 history seeded from RUN. */
  branchedFrom?: string;
}

/** What the trainer and evaluator report to; the local store is always behind it, W&B optionally. */
export interface RunTracker {
  readonly runName: string;
  /** experiments/<run>/ */
  readonly dir: string;
  start(info: RunStartInfo): Promise<void>;
  logEpoch(row: EpochMetrics): Promise<void>;
  /** Called once a phase ends (plots are drawn here). */
  endPhase(phase: Phase): Promise<void>;
  /** Eval results (flat metric names -> numbers) for the summary. */
  logSummary(values: Record<string, number | string>): Promise<void>;
  finish(): Promise<void>;
}
