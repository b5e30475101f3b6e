// The grid section's sentences (src/grid/findings.ts) say what the intervals say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gridFindings, verdict } from '../src/grid/findings.ts';
import type { Interval, TableRow } from '../src/track/table.ts';

const iv = (mean: number, half = 0.02): Interval => ({ mean, low: mean - half, high: mean + half });

function row(run: string, dbSize: number, kind: string, values: Record<string, Interval>, extra: Partial<TableRow> = {}): TableRow {
  const baseline = kind === 'bovw' || kind === 'dense';
  return {
    run, dataset: 'imagenette', dbSize, kind, idScheme: baseline ? '-' : 'clustered', corpusIds: 'clustered',
    model: { bovw: 'BoVW', dense: 'Dense', 'zero-shot': 'ViT DSI zero-shot', 'fine-tuned': 'ViT DSI fine-tuned' }[kind]!,
    queries: 38, oocQueries: 300, values, msPerQuery: null, ...extra,
  };
}

test('verdict: above or below only when the 95% intervals are apart', () => {
  assert.equal(verdict(iv(0.3), iv(0.2)), 'above');
  assert.equal(verdict(iv(0.2), iv(0.3)), 'below');
  assert.equal(verdict(iv(0.3, 0.06), iv(0.2, 0.06)), 'level');
});

test('findings compare each DSI model with its own run\'s BoVW and dense rows, and follow a recipe across DB sizes', () => {
  const rows: TableRow[] = [
    row('im-512-c', 512, 'bovw', { 'P@10': iv(0.16), 'P@10 (OOC)': iv(0.17) }),
    row('im-512-c', 512, 'dense', { 'P@10': iv(0.30), 'P@10 (OOC)': iv(0.25, 0.05) }),
    row('im-512-c', 512, 'fine-tuned', { 'IA@1': iv(0.2), 'P@10': iv(0.25), 'P@10 (OOC)': iv(0.28) }),
    row('im-1024-c, other-run', 1024, 'bovw', { 'P@10': iv(0.2), 'P@10 (OOC)': iv(0.18) }),
    row('im-1024-c', 1024, 'fine-tuned', { 'IA@1': iv(0.07), 'P@10': iv(0.31, 0.09), 'P@10 (OOC)': iv(0.34) }),
    row('paper', 1024, 'fine-tuned', { 'P@10': iv(0.9) }, { reported: true }),
  ];
  const lines = gridFindings({ columns: [], rows });
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.match(lines[0], /DB 512, ViT DSI fine-tuned .*vs BoVW, P@10 on the test split 0\.250 .* \*\*above\*\*; out of corpus .* \*\*above\*\*; vs the dense encoder, P@10 on the test split .* \*\*below\*\*; out of corpus .* \*\*level\*\*/);
  // The deduplicated BoVW row of two runs still pairs with each of them; the published row is ignored.
  assert.match(lines[1], /DB 1024, ViT DSI fine-tuned .*`im-1024-c`\) vs BoVW, P@10 on the test split 0\.310 .* \*\*level\*\*; out of corpus .* \*\*above\*\*\.$/);
  assert.doesNotMatch(lines.join('\n'), /paper|0\.900/);
  assert.equal(lines[2], '- imagenette, ViT DSI fine-tuned (clustered IDs, `im-N-c`) over DB 512 -> 1024: IA@1 0.200 -> 0.070; P@10 0.250 -> 0.310; P@10 (OOC) 0.280 -> 0.340.');
});

test('findings judge by the paired difference where eval.json has it, not by overlapping intervals', () => {
  // Per-model intervals overlap ("level" by overlap), but on the same queries the DSI row is better.
  const paired = { 'bovw P@10': { mean: 0.05, low: 0.01, high: 0.09, verdict: 'above' as const } };
  const rows: TableRow[] = [
    row('im-512-c', 512, 'bovw', { 'P@10': iv(0.2, 0.06), 'P@10 (OOC)': iv(0.2) }),
    row('im-512-c', 512, 'fine-tuned', { 'P@10': iv(0.25, 0.06), 'P@10 (OOC)': iv(0.21) }, { paired }),
  ];
  const [line] = gridFindings({ columns: [], rows });
  assert.match(line, /test split 0\.250 \[0\.19, 0\.31\] vs 0\.200 \[0\.14, 0\.26\], paired Δ \+0\.05 \[\+0\.01, \+0\.09\]: \*\*above\*\*/);
  // No pair for the out-of-corpus column: it falls back to the overlap verdict.
  assert.match(line, /out of corpus 0\.210 \[0\.19, 0\.23\] vs 0\.200 \[0\.18, 0\.22\], \*\*level\*\*\.$/);
});
