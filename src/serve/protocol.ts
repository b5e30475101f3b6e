/** Messages between `dsi serve`'s HTTP thread and the per-run ranking worker (rank-worker.ts). */
import type { BackendChoice } from '../runtime/backend.ts';
import type { ModelKind } from '../eval/types.ts';

export interface RankWorkerData {
  run: string;
  checkpointsDir: string;
  cacheRoot?: string;
  backend: BackendChoice;
  /** Tests only: wait this long before each ranking, to stand for a slow model. */
  delayMs?: number;
}

export interface OpenedInfo {
  models: { kind: ModelKind; label: string }[];
  /** The corpus cache folder (the HTTP thread reads the same corpus for thumbnails and relevance). */
  cachePath: string;
  mapK: number;
  backend: string;
  notes: string[];
}

export interface RankRequest {
  model: ModelKind;
  /** count x S x S x 3 RGB (transferred). */
  pixels: ArrayBuffer;
  count: number;
  imageSize: number;
  k: number;
}
