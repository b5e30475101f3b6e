/**
 * One ranking worker per run, fed one job at a time: a query someone is looking at (interactive)
 * always goes before the chunks of a whole-set ranking (sorting queries by AP), so a long sort
 * never leaves the page waiting for a single query's results.
 */
import type { ModelKind } from '../eval/types.ts';
import type { RankedList } from '../types.ts';
import { WorkerClient } from '../runtime/workers.ts';
import type { OpenedInfo, RankRequest, RankWorkerData } from './protocol.ts';

interface Job {
  model: ModelKind;
  pixels: Uint8Array;
  count: number;
  imageSize: number;
  k: number;
  resolve: (lists: RankedList[]) => void;
  reject: (e: Error) => void;
}

export class RankScheduler {
  private readonly worker: WorkerClient;
  private readonly interactive: Job[] = [];
  private readonly background: Job[] = [];
  private busy = false;

  constructor(data: RankWorkerData) {
    this.worker = new WorkerClient(new URL('./rank-worker.ts', import.meta.url), data);
  }

  open(): Promise<OpenedInfo> {
    return this.worker.call<OpenedInfo>('open', null);
  }

  /** Rank `count` queries (their pixels back to back) with one model. */
  rank(model: ModelKind, pixels: Uint8Array, count: number, imageSize: number, k: number, priority: 'interactive' | 'background'): Promise<RankedList[]> {
    return new Promise((resolve, reject) => {
      (priority === 'interactive' ? this.interactive : this.background).push({ model, pixels, count, imageSize, k, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.busy) return;
    const job = this.interactive.shift() ?? this.background.shift();
    if (!job) return;
    this.busy = true;
    const copy = job.pixels.slice(); // its own buffer, moved to the worker
    const request: RankRequest = { model: job.model, pixels: copy.buffer, count: job.count, imageSize: job.imageSize, k: job.k };
    this.worker
      .call<RankedList[]>('rank', request, [copy.buffer])
      .then(job.resolve, job.reject)
      .finally(() => {
        this.busy = false;
        this.pump();
      });
  }

  async close(): Promise<void> {
    const closed = new Error('dsi serve is shutting down');
    for (const job of [...this.interactive.splice(0), ...this.background.splice(0)]) job.reject(closed);
    await this.worker.terminate();
  }
}
