/**
 * The reference's own numbers (../shared/REFERENCE.md, "The reference's results": Imagenette 160 px,
 * DB size = indexed + query images), set beside the grid's Imagenette rows of the same DB size so
 * the table reads against the experiment it re-creates. They are reported figures, not runs: no
 * intervals (the reference sampled 10 queries), never bold, and the reference's BoVW "MAP@10" is
 * not reproducible (REFERENCE.md explains why).
 */
import type { Interval, ResultsTable, TableRow } from '../track/table.ts';

interface ReferenceFigure {
  model: string;
  kind: 'bovw' | 'zero-shot' | 'fine-tuned';
  dbSize: number;
  ids: string;
  ia1?: number;
  ia5?: number;
  map10: number;
  recall100: number;
}

const FIGURES: ReferenceFigure[] = [
  { model: 'BoVW', kind: 'bovw', dbSize: 512, ids: '-', map10: 0.58, recall100: 0.875 },
  { model: 'BoVW', kind: 'bovw', dbSize: 1024, ids: '-', map10: 0.5, recall100: 0.825 },
  { model: 'BoVW', kind: 'bovw', dbSize: 2048, ids: '-', map10: 0.42, recall100: 0.78 },
  { model: 'ViT DSI zero-shot', kind: 'zero-shot', dbSize: 512, ids: 'clustered', ia1: 0.833, ia5: 0.962, map10: 0.18, recall100: 0.275 },
  { model: 'ViT DSI zero-shot', kind: 'zero-shot', dbSize: 512, ids: 'random', ia1: 0.794, ia5: 0.871, map10: 0.1, recall100: 0.23 },
  { model: 'ViT DSI zero-shot', kind: 'zero-shot', dbSize: 1024, ids: 'clustered', ia1: 0.763, ia5: 0.828, map10: 0.12, recall100: 0.21 },
  { model: 'ViT DSI zero-shot', kind: 'zero-shot', dbSize: 1024, ids: 'random', ia1: 0.725, ia5: 0.766, map10: 0.07, recall100: 0.175 },
  { model: 'ViT DSI zero-shot', kind: 'zero-shot', dbSize: 2048, ids: 'clustered', ia1: 0.678, ia5: 0.774, map10: 0.1, recall100: 0.195 },
  { model: 'ViT DSI zero-shot', kind: 'zero-shot', dbSize: 2048, ids: 'random', ia1: 0.533, ia5: 0.719, map10: 0.06, recall100: 0.16 },
  { model: 'ViT DSI fine-tuned', kind: 'fine-tuned', dbSize: 512, ids: 'clustered', ia1: 0.415, ia5: 0.566, map10: 0.32, recall100: 0.58 },
  { model: 'ViT DSI fine-tuned', kind: 'fine-tuned', dbSize: 512, ids: 'random', ia1: 0.402, ia5: 0.472, map10: 0.21, recall100: 0.365 },
  { model: 'ViT DSI fine-tuned', kind: 'fine-tuned', dbSize: 1024, ids: 'clustered', ia1: 0.378, ia5: 0.404, map10: 0.28, recall100: 0.38 },
  { model: 'ViT DSI fine-tuned', kind: 'fine-tuned', dbSize: 1024, ids: 'random', ia1: 0.266, ia5: 0.3, map10: 0.18, recall100: 0.265 },
  { model: 'ViT DSI fine-tuned', kind: 'fine-tuned', dbSize: 2048, ids: 'clustered', ia1: 0.305, ia5: 0.333, map10: 0.17, recall100: 0.22 },
  { model: 'ViT DSI fine-tuned', kind: 'fine-tuned', dbSize: 2048, ids: 'random', ia1: 0.233, ia5: 0.275, map10: 0.07, recall100: 0.135 },
];

const point = (v: number | undefined): Interval | null => (v === undefined ? null : { mean: v, low: Number.NaN, high: Number.NaN });

/** The table with the reference's rows first in every Imagenette group of a DB size it reported. */
export function withReferenceRows(table: ResultsTable): ResultsTable {
  const rows: TableRow[] = [];
  let group = '';
  for (const row of table.rows) {
    const key = `${row.dataset}\u0000${row.dbSize}`;
    if (key !== group) {
      group = key;
      if (/imagenette/i.test(row.dataset)) {
        for (const f of FIGURES.filter((x) => x.dbSize === row.dbSize)) {
          const values: Record<string, Interval | null> = { 'IA@1': point(f.ia1), 'IA@5': point(f.ia5), '"MAP@10" (ref)': point(f.map10), 'Recall@100 (ref)': point(f.recall100) };
          rows.push({ run: 'REFERENCE.md', dataset: row.dataset, dbSize: row.dbSize, idScheme: f.ids, corpusIds: f.ids, kind: f.kind, model: `reference paper: ${f.model}`, queries: 10, oocQueries: null, values, msPerQuery: null, reported: true });
        }
      }
    }
    rows.push(row);
  }
  return { ...table, rows };
}
