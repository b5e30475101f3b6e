/**
 * The worker thread behind one run in `dsi serve`: it opens the run the way `dsi eval` does
 * (checkpoints, corpus, BoVW index), keeps its rankers, and ranks query pixels on request. Beam
 * search and SIFT are CPU-bound and synchronous inside tfjs/wasm; here they never hold up the
 * HTTP thread.
 */
import { workerData } from 'node:worker_threads';
import { serveRequests } from '../runtime/workers.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { bovwRanker, trainedModelRankers, type Ranker } from '../eval/rankers.ts';
import type { QuerySet } from '../eval/queries.ts';
import { openRun } from '../runs/open.ts';
import type { RankWorkerData, OpenedInfo, RankRequest } from './protocol.ts';

process.env.DSI_NO_PROGRESS = '1';
const data = workerData as RankWorkerData;
let rankers: Map<string, Ranker> | null = null;

async function open(): Promise<OpenedInfo> {
  const run = await openRun({ run: data.run, checkpointsDir: data.checkpointsDir, cacheRoot: data.cacheRoot, backend: data.backend, log: () => {} });
  const { corpus, config } = run;
  const list: Ranker[] = [];
  const bovw = await bovwRanker(corpus, config.bovw);
  if (bovw) list.push(bovw);
  list.push(...trainedModelRankers(run, corpus, config.decode));
  rankers = new Map(list.map((r) => [r.kind, r]));
  const notes = [...run.notes];
  if (!bovw) notes.push('no BoVW index for this corpus: `dsi bovw --config <the run\'s config>` builds it');
  return {
    models: list.map((r) => ({ kind: r.kind, label: r.label })),
    cachePath: corpus.cachePath,
    mapK: config.eval.map_k,
    backend: run.backend,
    notes,
  };
}

async function rank(req: RankRequest) {
  if (!rankers) throw new Error('the run is not open');
  const ranker = rankers.get(req.model);
  if (!ranker) throw new Error(`this run has no ${req.model} model`);
  if (data.delayMs) await sleep(data.delayMs);
  const queries: QuerySet = {
    source: 'serve',
    pixels: new Uint8Array(req.pixels),
    count: req.count,
    imageSize: req.imageSize,
    keys: [],
    relevant: [],
    classes: [],
    skipped: [],
  };
  return (await ranker.rank(queries, req.k, () => {})).lists;
}

serveRequests({
  open: async () => ({ value: await open() }),
  rank: async (req: RankRequest) => ({ value: await rank(req) }),
});
