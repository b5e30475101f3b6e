/**
 * A worker thread that ranks query images by BoVW (SIFT is plain JavaScript: one core's work),
 * so `dsi eval` can run the baseline beside the ViT's beam search on the other core. It opens the
 * cached index itself from its folder: the index's SIFT function cannot cross threads.
 */
import { parentPort } from 'node:worker_threads';
import { loadBovwIndexAt, rankManyByBovw } from '../bovw/bovw-index.ts';
import type { BovwConfig } from '../config/sections/bovw.ts';

interface RankRequest {
  dir: string;
  corpusHash: string;
  config: BovwConfig;
  pixels: Uint8Array;
  imageSize: number;
  topK: number;
}

parentPort!.on('message', async (m: { id: number; type: string; payload: RankRequest }) => {
  try {
    if (m.type === 'ping') return parentPort!.postMessage({ id: m.id, ok: true, value: 'ready' });
    const p = m.payload;
    const index = await loadBovwIndexAt(p.dir, p.corpusHash, p.config);
    if (!index) throw new Error(`no BoVW index in ${p.dir}`);
    const started = performance.now();
    const lists = rankManyByBovw(index, p.pixels, p.imageSize, p.topK);
    parentPort!.postMessage({ id: m.id, ok: true, value: { lists, ms: performance.now() - started } });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
});
