/**
 * The sentences README's grid section states about the table, computed from it so they stay true
 * as rows land: where each DSI model is above, level with or below BoVW and the dense encoder of
 * its own run, on the test split and out of corpus (by the paired difference's 95% interval where
 * eval.json has it, else by whether the two models' intervals overlap); and how
 * IA@1 and P@10 move with the DB size for each recipe that has more than one size.
 */
import type { Verdict } from '../eval/types.ts';
import type { Interval, ResultsTable, TableRow } from '../track/table.ts';

const TEST = 'P@10';
const OOC = 'P@10 (OOC)';
const DSI_KINDS = new Set(['zero-shot', 'fine-tuned']);

const fmt = (v: Interval) => `${v.mean.toFixed(3)} [${v.low.toFixed(2)}, ${v.high.toFixed(2)}]`;

/** above / below when the 95% intervals do not overlap, level when they do. */
export function verdict(a: Interval, b: Interval): Verdict {
  if (a.low > b.high) return 'above';
  if (a.high < b.low) return 'below';
  return 'level';
}

/** The baseline row of `kind` measured on the same run (dedupe joins run names with ", "). */
function baselineOf(rows: readonly TableRow[], row: TableRow, kind: string): TableRow | undefined {
  return rows.find((r) => r.kind === kind && !r.reported && r.dataset === row.dataset && r.dbSize === row.dbSize && r.run.split(', ').includes(row.run));
}

function comparison(row: TableRow, base: TableRow, name: string): string | null {
  const parts: string[] = [];
  for (const [column, where] of [[TEST, 'test split'], [OOC, 'out of corpus']] as const) {
    const a = row.values[column];
    const b = base.values[column];
    if (!a || !b || !Number.isFinite(a.low) || !Number.isFinite(b.low)) continue;
    // The paired difference (same queries, resampled together) where eval computed it; else whether the intervals overlap.
    const paired = row.paired?.[`${base.kind} ${column}`];
    const judged = paired ? `paired Δ ${signed(paired.mean)} [${signed(paired.low)}, ${signed(paired.high)}]: **${paired.verdict}**` : `**${verdict(a, b)}**`;
    parts.push(`${where} ${fmt(a)} vs ${fmt(b)}, ${judged}`);
  }
  return parts.length ? `vs ${name}, P@10 on the ${parts.join('; ')}` : null;
}

const signed = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(2)}`;

/** `imagenette-512-clustered` and `imagenette-1024-clustered` are one recipe at two DB sizes. */
const recipeOf = (run: string) => run.replace(/-\d{3,5}(?=-|$)/, '-N');

export function gridFindings(table: ResultsTable): string[] {
  const measured = table.rows.filter((r) => !r.reported);
  const lines: string[] = [];
  for (const row of measured.filter((r) => DSI_KINDS.has(r.kind))) {
    const against = [
      ['BoVW', baselineOf(measured, row, 'bovw')],
      ['the dense encoder', baselineOf(measured, row, 'dense')],
    ] as const;
    const said = against.flatMap(([name, base]) => (base ? [comparison(row, base, name)] : [])).filter((s): s is string => s !== null);
    if (said.length) lines.push(`- ${row.dataset}, DB ${row.dbSize}, ${row.model} (${row.idScheme} IDs, \`${row.run}\`) ${said.join('; ')}.`);
  }
  const families = new Map<string, TableRow[]>();
  for (const row of measured.filter((r) => DSI_KINDS.has(r.kind))) {
    const key = JSON.stringify([row.dataset, row.kind, row.idScheme, recipeOf(row.run)]);
    families.set(key, [...(families.get(key) ?? []), row]);
  }
  for (const rows of families.values()) {
    const sizes = [...rows].sort((a, b) => a.dbSize - b.dbSize);
    if (new Set(sizes.map((r) => r.dbSize)).size < 2) continue;
    const series = (column: string) => {
      const values = sizes.map((r) => r.values[column]?.mean);
      return values.every((v) => v !== undefined) ? `${column} ${values.map((v) => v!.toFixed(3)).join(' -> ')}` : null;
    };
    const moves = ['IA@1', TEST, OOC].map(series).filter((s): s is string => s !== null);
    if (moves.length) {
      lines.push(`- ${sizes[0].dataset}, ${sizes[0].model} (${sizes[0].idScheme} IDs, \`${recipeOf(sizes[0].run)}\`) over DB ${sizes.map((r) => r.dbSize).join(' -> ')}: ${moves.join('; ')}.`);
    }
  }
  return lines;
}
