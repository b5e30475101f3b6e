import { UserError } from '../runtime/errors.ts';
import { buildResultsTable, groupsOf, OOC, readEvalReport, type Interval, type ResultsTable, type TableFormat, type TableRow } from './table.ts';

/**
 * The results grid (table.ts builds it) as text: Markdown and LaTeX with the best value of each
 * dataset and DB-size group in bold, CSV with mean, low and high columns per metric.
 */

/** Per group and column, the rows holding the best (highest) mean: bold in Markdown and LaTeX. */
function bestOf(rows: TableRow[], column: string): Set<TableRow> {
  const measured = rows.filter((r) => !r.reported);
  let best = -Infinity;
  for (const r of measured) best = Math.max(best, r.values[column]?.mean ?? -Infinity);
  return new Set(measured.filter((r) => best > -Infinity && r.values[column]?.mean === best));
}

const fixed = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : '');

export function renderResultsTable(table: ResultsTable, format: TableFormat): string {
  switch (format) {
    case 'csv':
      return renderCsv(table);
    case 'tex':
      return renderTex(table);
    default:
      return renderMd(table);
  }
}

function cellText(v: Interval | null | undefined, digits = 3): string {
  if (!v) return '-';
  return Number.isFinite(v.low) ? `${fixed(v.mean, digits)} [${fixed(v.low, 2)}, ${fixed(v.high, 2)}]` : fixed(v.mean, digits);
}

function renderMd(table: ResultsTable): string {
  const headers = ['model', 'IDs', ...table.columns, 'queries', 'ms/query', 'run'];
  const out: string[] = [];
  for (const g of groupsOf(table.rows)) {
    out.push(`### ${g.dataset}, DB size ${g.dbSize}`, '', `| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`);
    const best = Object.fromEntries(table.columns.map((c) => [c, bestOf(g.rows, c)]));
    for (const r of g.rows) {
      const cells = table.columns.map((c) => {
        const text = cellText(r.values[c]);
        return best[c].has(r) && text !== '-' ? `**${text}**` : text;
      });
      const queries = `${r.queries ?? '-'}${r.oocQueries === null ? '' : ` + ${r.oocQueries} OOC`}`;
      out.push(`| ${[r.model, r.idScheme, ...cells, queries, r.msPerQuery === null ? '-' : fixed(r.msPerQuery, 1), r.run].join(' | ')} |`);
    }
    out.push('');
  }
  out.push(...legend(table).map((l) => `- ${l}`));
  return out.join('\n') + '\n';
}

function legend(table: ResultsTable): string[] {
  const lines = ['Values: mean [95% interval]; best of each dataset and DB size in bold.'];
  if (table.columns.some((c) => c.startsWith('IA@'))) {
    lines.push('IA@K: share of indexed images whose own ID is in the top K (Wilson interval over the indexed images).');
  }
  if (table.columns.some((c) => c.endsWith('(ref)'))) {
    lines.push('(ref): the reference protocol\'s sampled numbers (its "MAP@10" is the mean P@10 over 10 sampled test queries), no interval.');
  }
  lines.push('Other metrics: over all test queries, 95% bootstrap intervals (dsi eval --protocol full).');
  if (table.columns.some((c) => c.endsWith(OOC))) {
    lines.push(`${OOC}: over out-of-corpus queries (images of the corpus's classes that the corpus does not hold; dsi eval --queries DIR), 95% bootstrap intervals.`);
  }
  return lines;
}

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function renderCsv(table: ResultsTable): string {
  const headers = ['dataset', 'db_size', 'model', 'kind', 'ids', 'run', 'queries', 'ooc_queries', 'ms_per_query'];
  for (const c of table.columns) headers.push(c, `${c} low`, `${c} high`);
  const lines = [headers.map(csvCell).join(',')];
  for (const r of table.rows) {
    const cells: (string | number)[] = [r.dataset, r.dbSize, r.model, r.kind, r.idScheme, r.run, r.queries ?? '', r.oocQueries ?? '', r.msPerQuery ?? ''];
    for (const c of table.columns) {
      const v = r.values[c];
      cells.push(v ? v.mean : '', v && Number.isFinite(v.low) ? v.low : '', v && Number.isFinite(v.high) ? v.high : '');
    }
    lines.push(cells.map(csvCell).join(','));
  }
  return lines.join('\n') + '\n';
}

const TEX_SPECIALS: Record<string, string> = { '&': '\\&', '%': '\\%', $: '\\$', '#': '\\#', _: '\\_', '{': '\\{', '}': '\\}', '~': '\\textasciitilde{}', '^': '\\^{}', '\\': '\\textbackslash{}' };
const tex = (s: string) => s.replace(/[&%$#_{}~^\\]/g, (c) => TEX_SPECIALS[c]).replace(/"([^"]*)"/g, "``$1''");

function renderTex(table: ResultsTable): string {
  const headers = ['Model', 'IDs', ...table.columns.map(tex)];
  const out = [
    '% dsi runs table --format tex; needs \\usepackage{booktabs}',
    `\\begin{tabular}{ll${'c'.repeat(table.columns.length)}}`,
    '\\toprule',
    `${headers.join(' & ')} \\\\`,
  ];
  for (const g of groupsOf(table.rows)) {
    out.push('\\midrule', `\\multicolumn{${headers.length}}{l}{\\textit{${tex(g.dataset)}, DB size ${g.dbSize}}} \\\\`);
    const best = Object.fromEntries(table.columns.map((c) => [c, bestOf(g.rows, c)]));
    for (const r of g.rows) {
      const cells = table.columns.map((c) => {
        const v = r.values[c];
        if (!v) return '--';
        const mean = best[c].has(r) ? `\\textbf{${fixed(v.mean)}}` : fixed(v.mean);
        return Number.isFinite(v.low) ? `${mean} {\\scriptsize [${fixed(v.low, 2)}, ${fixed(v.high, 2)}]}` : mean;
      });
      out.push(`${[tex(r.model), tex(r.idScheme === '-' ? '--' : r.idScheme), ...cells].join(' & ')} \\\\`);
    }
  }
  out.push('\\bottomrule', '\\end{tabular}');
  return out.join('\n') + '\n';
}

export function runsTableText(experimentsDir: string, runs: string[], format: TableFormat): string {
  if (runs.length === 0) throw new UserError('dsi runs table needs at least one run');
  return renderResultsTable(buildResultsTable(runs.map((r) => readEvalReport(experimentsDir, r))), format);
}
