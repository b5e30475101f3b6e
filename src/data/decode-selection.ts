import { progressBar } from '../runtime/progress.ts';
import { decodeToSquareRgb, ImageRejected } from './images.ts';
import type { SelectionPlan } from './select.ts';
import type { SourceItem } from './sources/types.ts';
import type { SkippedFile } from './types.ts';

/**
 * Decoding is the slow part of a build, so only the planned images are decoded: each group's
 * candidates in order, exactly as many as its quota, and a rejected image is replaced by the
 * next candidate of the same group. Two images are in flight at a time (sharp works off the JS
 * thread, and more would only compete for the few cores).
 */
export const DECODE_CONCURRENCY = 2;

export interface DecodedSelection {
  /** Accepted items in row order (group by group). */
  chosen: SourceItem[];
  /** chosen.length x size x size x 3. */
  pixels: Uint8Array;
  skipped: SkippedFile[];
}

export async function decodeSelection(
  plan: SelectionPlan<SourceItem>,
  opts: { size: number; aspectTolerance: number | null },
): Promise<DecodedSelection> {
  const rowBytes = opts.size * opts.size * 3;
  const total = plan.groups.reduce((n, g) => n + Math.min(g.quota, g.candidates.length), 0);
  const pixels = new Uint8Array(total * rowBytes);
  const chosen: SourceItem[] = [];
  const skipped: SkippedFile[] = [];
  const bar = progressBar('decode', total, 'img');
  try {
    for (const group of plan.groups) {
      let next = 0;
      let accepted = 0;
      while (accepted < group.quota && next < group.candidates.length) {
        const batch = group.candidates.slice(next, next + (group.quota - accepted));
        next += batch.length;
        const results = await mapInOrder(batch, DECODE_CONCURRENCY, (item) => decodeOne(item, opts));
        results.forEach((result, k) => {
          if (typeof result === 'string') {
            skipped.push({ source: batch[k].source, reason: result });
            return;
          }
          pixels.set(result, chosen.length * rowBytes);
          chosen.push(batch[k]);
          accepted++;
          bar.tick(1, { skipped: skipped.length });
        });
      }
    }
  } finally {
    bar.stop();
  }
  return { chosen, pixels: pixels.subarray(0, chosen.length * rowBytes), skipped };
}

/** Pixels, or the reason the item cannot be used. Only an unreachable network is fatal. */
async function decodeOne(item: SourceItem, opts: { size: number; aspectTolerance: number | null }): Promise<Uint8Array | string> {
  let bytes: Uint8Array;
  try {
    bytes = await item.read();
  } catch (err) {
    // Without a network every remaining image would fail the same way: say so once, clearly.
    if ((err as Error).name === 'UnreachableError') throw err;
    return `cannot read (${(err as Error).message ?? String(err)})`;
  }
  try {
    return await decodeToSquareRgb(bytes, { size: opts.size, aspectTolerance: opts.aspectTolerance });
  } catch (err) {
    if (err instanceof ImageRejected) return err.reason;
    throw err;
  }
}

/** Like Promise.all(items.map(fn)) with at most `limit` calls running at once. */
export async function mapInOrder<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
