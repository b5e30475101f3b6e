/**
 * `dsi search`: rank the indexed images of a run's corpus for any image files, with the ViT
 * (fine-tuned checkpoint, else the indexing one) or BoVW; print the ranking and optionally draw
 * a contact sheet.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { displayNameOf } from '../data/types.ts';
import { formatTable } from '../runtime/table.ts';
import { UserError } from '../runtime/errors.ts';
import { shownPath as shortPath } from '../runtime/log.ts';
import { progressBar } from '../runtime/progress.ts';
import { renderContactSheet, type SheetRow } from './contact-sheet.ts';
import { logRunImage } from '../track/tracker.ts';
import { logToStderr } from '../runtime/log.ts';
import { fileQueries } from './queries.ts';
import { bovwRanker, denseRanker, vitRanker, type Ranker } from './rankers.ts';
import { openCorpusOnly, openRun, type RunOptions } from '../runs/open.ts';

export interface SearchOptions extends RunOptions {
  model: 'vit' | 'bovw' | 'dense';
  k: number;
  images: string[];
  png?: string;
  /** experiments/ root (default: the working directory's); the contact sheet is logged to the run's W&B run. */
  experimentsDir?: string;
}

export interface SearchHit {
  rank: number;
  id: number;
  score: number;
  source: string;
  classes: string[];
  /** Whether it shares the query's class; null when the query's class is unknown. */
  relevant: boolean | null;
}

export interface SearchOutcome {
  text: string;
  queries: { file: string; classes: string[]; hits: SearchHit[] }[];
  pngPath: string | null;
}

export async function runSearch(opts: SearchOptions): Promise<SearchOutcome> {
  if (opts.images.length === 0) throw new UserError('dsi search: name at least one IMAGE file');
  if (!(Number.isInteger(opts.k) && opts.k >= 1)) throw new UserError(`-k ${opts.k}: must be a positive integer`);
  // BoVW needs no trained model: with --config and no --run it searches that config's corpus, so
  // the baseline can be used (and compared) before any ViT has been trained.
  const bovwOnly = opts.model === 'bovw' && Boolean(opts.configFile) && !opts.run;
  const run = bovwOnly ? null : await openRun(opts);
  const { corpus, config } = run ?? (await openCorpusOnly(opts));
  const k = Math.min(opts.k, corpus.indexedRows.length);
  const queries = await fileQueries(opts.images, corpus);
  const lines: string[] = [];
  for (const s of queries.skipped) lines.push(`skipped ${s.source}: ${s.reason}`);
  if (queries.count === 0) throw new UserError(`none of the images could be read (${queries.skipped.map((s) => s.source).join(', ')})`);

  if (run && opts.model === 'dense' && !run.dense) {
    throw new UserError(`run "${run.runName}" has no dense baseline: train it with \`dsi train --resume --run ${run.runName} --set train.dense_epochs=N\``);
  }
  const ranker: Ranker | null = run && opts.model === 'vit'
    ? vitRanker(run.retrieval ? 'fine-tuned' : 'zero-shot', run.retrieval ?? run.indexing, corpus, config.decode)
    : run?.dense && opts.model === 'dense'
      ? denseRanker(run.dense, corpus, config.decode)
      : await bovwRanker(corpus, config.bovw);
  if (!ranker) throw new UserError(`no BoVW index for corpus ${corpus.hash}: build it with \`dsi bovw --config ${opts.configFile ?? "<the run's config>"}\``);
  let lists;
  try {
    const bar = progressBar(`search ${ranker.label}`, queries.count, 'image');
    lists = (await ranker.rank(queries, k, (n) => bar.tick(n))).lists;
    bar.stop();
  } finally {
    ranker.dispose();
  }

  const out: SearchOutcome['queries'] = [];
  const rows: SheetRow[] = [];
  const per = corpus.imageSize * corpus.imageSize * 3;
  for (let q = 0; q < queries.count; q++) {
    const known = queries.classes[q].length > 0;
    const relevant = new Set(queries.relevant[q]);
    const hits: SearchHit[] = lists[q].ids.map((id, i) => {
      const record = corpus.records[corpus.indexedRows[id]];
      return { rank: i + 1, id, score: lists[q].scores[i], source: record.source, classes: record.classes, relevant: known ? relevant.has(id) : null };
    });
    out.push({ file: queries.keys[q], classes: queries.classes[q], hits });
    // An image without SIFT keypoints has an empty histogram: every score is 0 and the order is
    // just ID order, which would otherwise look like a (bad) ranking.
    if (opts.model === 'bovw' && hits.every((h) => h.score === 0)) {
      lines.push(`note: ${queries.keys[q]} has no SIFT keypoints, so BoVW scores every image 0 and the order below is only ID order`);
    }
    lines.push(
      `${ranker.label}, query ${queries.keys[q]} (${known ? `class ${queries.classes[q].join(', ')}` : 'class unknown'})` +
        (known ? `: ${hits.filter((h) => h.relevant).length}/${hits.length} of the top ${k} share its class` : ''),
      formatTable(
        ['rank', 'ID', 'score', 'source', 'class', ...(known ? ['relevant'] : [])],
        hits.map((h) => [h.rank, h.id, h.score.toFixed(4), shortPath(h.source), h.classes.join(', '), ...(known ? [h.relevant ? 'yes' : 'no'] : [])]),
      ),
    );
    rows.push({
      query: {
        pixels: queries.pixels.subarray(q * per, (q + 1) * per),
        size: corpus.imageSize,
        caption: 'query',
        detail: queries.classes[q].length ? queries.classes[q].map((c) => displayNameOf(corpus, c)).join(', ') : 'class unknown',
        relevant: null,
      },
      results: hits.map((h) => ({
        pixels: corpus.pixels.subarray(corpus.indexedRows[h.id] * per, (corpus.indexedRows[h.id] + 1) * per),
        size: corpus.imageSize,
        caption: `#${h.rank} ${opts.model === 'bovw' ? 'cos' : 'score'} ${h.score.toFixed(3)}`,
        detail: h.classes.map((c) => displayNameOf(corpus, c)).join(', '),
        relevant: h.relevant,
      })),
    });
  }
  let pngPath: string | null = null;
  if (opts.png) {
    pngPath = resolve(opts.png);
    await mkdir(dirname(pngPath), { recursive: true });
    const sheet = await renderContactSheet(rows);
    await writeFile(pngPath, sheet);
    // A run tracked on W&B gets the sheet as an image too (offline runs: at their next `runs sync`).
    if (run) await logRunImage(run.runName, 'search/contact_sheet', sheet, { experimentsDir: opts.experimentsDir, warn: (m) => (opts.log ?? logToStderr)(`warning: ${m}`) });
    lines.push(`contact sheet: ${shortPath(pngPath)} (query outlined blue; green = same class, red = other class)`);
  }
  return { text: lines.join('\n') + '\n', queries: out, pngPath };
}
