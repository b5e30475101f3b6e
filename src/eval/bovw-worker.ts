/**
 * A worker thread that ranks query images by BoVW (SIFT is plain JavaScript: one core's work),
 * so `dsi eval` can run the baseline beside the ViT's beam search on the other core. It opens the
 * cached index itself from its folder: the index's SIFT function cannot cross threads.
 */
import { loadBovwIndexAt, rankManyByBovw } from '../bovw/bovw-index.ts';
import type { BovwConfig } from '../config/sections/bovw.ts';
import { serveRequests } from '../runtime/workers.ts';

interface RankRequest {
  dir: string;
  corpusHash: string;
  config: BovwConfig;
  pixels: Uint8Array;
  imageSize: number;
  topK: number;
}

serveRequests({
  async ping() {
    return { value: 'ready' };
  },
  async rank(p: RankRequest) {
    const index = await loadBovwIndexAt(p.dir, p.corpusHash, p.config);
    if (!index) throw new Error(`no BoVW index in ${p.dir}`);
    const started = performance.now();
    const lists = rankManyByBovw(index, p.pixels, p.imageSize, p.topK);
    return { value: { lists, ms: performance.now() - started } };
  },
});
