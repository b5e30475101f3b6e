/**
 * The results table, in the reference's layout (model, DB size, IDs, IA@1, IA@5, MAP@10,
 * Recall@100) plus the honest columns, as Markdown. Every column header is explained underneath
 * with what it averages over, because the reference's own "MAP@10" is not a MAP.
 */
import type { Estimate } from './bootstrap.ts';
import type { EvalReport, FullMetrics, ModelReport } from './types.ts';

const num = (v: number | null | undefined, digits = 3) => (v === null || v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits));
const withCi = (e: Estimate) => (e.n === 0 ? '-' : `${num(e.mean)} [${num(e.low)}, ${num(e.high)}]`);

function markdownTable(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export function renderMarkdown(r: EvalReport): string {
  const e = r.eval;
  const withRef = r.protocol !== 'full';
  const withFull = r.protocol !== 'reference';
  const unconstrained = !r.decode.constrained;
  const iaHeaders = e.iaK.map((k) => `IA@${k}`);
  const headers = ['model', 'DB size', 'IDs', ...iaHeaders];
  if (withRef) headers.push(`"MAP@${e.mapK}" (ref)`, `Recall@${e.recallK} (ref)`);
  if (withRef && !withFull) headers.push(`true MAP@${e.mapK} (ref sample)`);
  if (withFull) headers.push(`MAP@${e.mapK}`, `P@${e.mapK}`, `Recall@${e.recallK}`, `nDCG@${e.mapK}`);
  headers.push('ms/query');
  if (unconstrained) headers.push('invalid IDs');

  const rows = r.models.map((m) => {
    const row = [m.label, String(r.corpus.dbSize), m.kind === 'bovw' || m.kind === 'dense' ? '-' : r.corpus.idScheme, ...e.iaK.map((k) => num(m.ia?.[`IA@${k}`]))];
    if (withRef) row.push(num(m.reference?.refMap, 2), num(m.reference?.recall, 3));
    if (withRef && !withFull) row.push(num(m.reference?.trueMap));
    if (withFull) row.push(...fullCells(m.full));
    row.push(num(m.msPerQuery, 1));
    if (unconstrained) row.push(m.invalidIdRate === undefined ? '-' : `${(100 * m.invalidIdRate).toFixed(1)}%`);
    return row;
  });

  const q = r.querySet;
  const out: string[] = [
    `# dsi eval: run ${r.run}`,
    '',
    `Corpus ${r.corpus.hash} (${r.corpus.dataset}): ${r.corpus.indexed} indexed images, ` +
      `${r.corpus.queries.train}/${r.corpus.queries.val}/${r.corpus.queries.test} train/val/test queries; ` +
      `DB size = indexed + query images = ${r.corpus.dbSize} (as the reference counts it).`,
    `Queries evaluated: ${q.count} (${q.source})${q.skipped ? `, ${q.skipped} unreadable files skipped` : ''}` +
      `${q.inCorpus ? `, ${q.inCorpus} images already in the corpus left out` : ''}. ` +
      `Decoding: ${r.decode.constrained ? 'constrained' : 'UNCONSTRAINED'} beam search, beam width ${r.decode.beamWidth} ` +
      `(at least K)${r.decode.flipAverage ? ', each query also read mirrored (decode.flip_average)' : ''}, ${r.decode.backend} backend.`,
    ...(r.checkpoints?.length
      ? [`Checkpoints: ${r.checkpoints.map((c) => `${c.model} = ${c.kind} (${c.phase} epoch ${c.epoch}, step ${c.step}, written ${c.created})`).join('; ')}.`]
      : []),
    '',
    markdownTable(headers, rows),
    '',
    ...legend(r),
  ];
  if (r.paired?.length) out.push('', ...pairedSection(r));
  const allRows = r.models.filter((m) => m.fullAllQueries);
  if (withFull && allRows.length > 0) {
    const n = allRows[0].fullAllQueries!.queries;
    out.push(
      '',
      `## Models that never trained on queries, over all ${n} queries of the corpus (train + val + test)`,
      '',
      markdownTable(
        ['model', `MAP@${e.mapK}`, `P@${e.mapK}`, `Recall@${e.recallK}`, `nDCG@${e.mapK}`],
        allRows.map((m) => [m.label, ...fullCells(m.fullAllQueries)]),
      ),
      '',
      'A sample about ten times larger than the test split, so these intervals are the tighter estimate for BoVW and zero-shot.',
    );
  }
  if (r.notes.length) out.push('', '## Notes', '', ...r.notes.map((n) => `- ${n}`));
  return out.join('\n') + '\n';
}

function pairedSection(r: EvalReport): string[] {
  const pairs = r.paired!;
  const k = pairs[0].mapK;
  const signed = (v: number) => (v > 0 ? '+' : '') + num(v);
  const cell = (e: Estimate) => (e.n === 0 ? '-' : `${signed(e.mean)} [${signed(e.low)}, ${signed(e.high)}]`);
  return [
    `## Paired differences (A - B on the same ${pairs[0].queries} queries)`,
    '',
    markdownTable(
      ['A', 'B', `ΔP@${k}`, `ΔMAP@${k}`, 'A vs B'],
      pairs.map((p) => [p.labelA, p.labelB, cell(p.precision), cell(p.map), p.verdict]),
    ),
    '',
    `Per-query differences, bootstrapped with the same queries for both models (${r.eval.bootstrap} resamples): the interval of "is A better than B", ` +
      `which the per-model intervals above cannot give. A vs B reads the ΔP@${k} interval: above or below when it excludes 0, else level.`,
  ];
}

function fullCells(f: FullMetrics | null): string[] {
  if (!f) return ['-', '-', '-', '-'];
  return [withCi(f.map), withCi(f.precision), withCi(f.recall), withCi(f.ndcg)];
}

function legend(r: EvalReport): string[] {
  const e = r.eval;
  const lines = [
    `- IA@K (indexing accuracy): every one of the ${r.corpus.indexed} indexed images as a query; a hit when its own ID is in the top K. BoVW has no IDs.`,
  ];
  if (r.protocol !== 'full') {
    lines.push(
      `- "MAP@${e.mapK}" (ref): the reference's number, which is NOT a mean average precision: the mean P@${e.mapK} over ${e.mapN} test queries sampled with seed ${e.seed}.`,
      `- Recall@${e.recallK} (ref): |relevant in top ${e.recallK}| / |relevant|, over ${e.recallN} other sampled test queries. With ten queries either number moves by +-0.1 from one sample to the next.`,
    );
    if (r.protocol === 'reference') lines.push(`- true MAP@${e.mapK} (ref sample): mean AP@${e.mapK} over the same ${e.mapN} queries as "MAP@${e.mapK}".`);
  }
  if (r.protocol !== 'reference') {
    lines.push(
      `- MAP@${e.mapK}, P@${e.mapK}, Recall@${e.recallK}, nDCG@${e.mapK}: over all ${r.querySet.count} evaluated queries, with 95% bootstrap intervals (${e.bootstrap} resamples, seed ${e.seed}). ` +
        `AP@K = sum over ranks i <= K of P@i x rel(i) / min(K, |relevant|). Missing ranks count as non-relevant.`,
    );
  }
  lines.push(`- ms/query: wall time of ranking one query (ViT: encoder + beam search for K = ${e.recallK}, batched; BoVW: SIFT + histogram + cosine). Timings on a shared machine are noisy.`);
  if (!r.decode.constrained) lines.push('- invalid IDs: share of the top-K hypotheses that were not indexed IDs; they were dropped, not replaced.');
  return lines;
}
