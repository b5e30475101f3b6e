import { Rng } from '../runtime/rng.ts';
import { decimalCode, hierarchicalCodes, type IdScheme } from './ids.ts';

/**
 * The split of a selected corpus into the indexed database and the queries, the query split
 * (train/val/test), the DSI IDs and each query's relevant IDs (REFERENCE.md, "Splits and relevance").
 */

export type Role = 'indexed' | 'train' | 'val' | 'test';

export interface SplitImage {
  /** The class the image is split under (COCO: its largest kept category). */
  primaryClass: string;
  /** Every class it shows; relevance for multi-label corpora is "shares at least one". */
  classes: string[];
}

export interface SplitRules {
  retrievalFraction: number;
  /** [train, val, test] fractions of each class's queries. */
  querySplit: readonly [number, number, number];
  /** hierarchical and semantic number IDs as clustered does; their codes differ (see ids.ts). */
  idScheme: IdScheme;
  seed: number;
  /** COCO: relevant = indexed images sharing at least one class; otherwise the same primary class. */
  multiLabel: boolean;
}

export interface SplitResult {
  /** Per image (same order as the input). */
  roles: Role[];
  ids: (number | null)[];
  /** Per image: for queries the relevant IDs ascending, for indexed images []. */
  relevantIds: number[][];
  /** `indexedRows[id]` is the input index of the image with that ID. */
  indexedRows: number[];
  /**
   * `codes[id]`: the digit string the model writes for ID `id`. Semantic codes need the pixels,
   * so they are assigned by the corpus builder; here they are the decimal form.
   */
  codes: string[];
}

/** Images of a class that go into the database: the notebook's int(n * (1 - fraction)). */
export function indexedCount(classSize: number, retrievalFraction: number): number {
  // The epsilon keeps float noise from losing an image: 10 * (1 - 0.9) is 0.9999999999999998.
  return Math.floor(classSize * (1 - retrievalFraction) + 1e-9);
}

// Two independent streams from one seed, so that switching the ID scheme leaves the query split
// (and so the test queries every method is evaluated on) exactly the same.
const QUERY_STREAM = 0x9e3779b9;

export function splitCorpus(images: readonly SplitImage[], classOrder: readonly string[], rules: SplitRules): SplitResult {
  const members = new Map<string, number[]>(classOrder.map((c) => [c, []]));
  images.forEach((img, i) => {
    const list = members.get(img.primaryClass);
    if (!list) throw new Error(`image ${i} has class "${img.primaryClass}" that is not among the kept classes`);
    list.push(i);
  });

  const roles: Role[] = new Array(images.length);
  const indexedInClassOrder: number[] = [];
  const queriesByClass: number[][] = [];
  for (const c of classOrder) {
    const rows = members.get(c)!;
    const nIndexed = indexedCount(rows.length, rules.retrievalFraction);
    for (const r of rows.slice(0, nIndexed)) {
      roles[r] = 'indexed';
      indexedInClassOrder.push(r);
    }
    queriesByClass.push(rows.slice(nIndexed));
  }

  // IDs: clustered = consecutive per class in class order; random = a seeded permutation of them.
  const ids: (number | null)[] = new Array(images.length).fill(null);
  const idOrder = indexedInClassOrder.map((_, k) => k);
  if (rules.idScheme === 'random') new Rng(rules.seed).shuffle(idOrder);
  const indexedRows: number[] = new Array(indexedInClassOrder.length);
  indexedInClassOrder.forEach((row, k) => {
    ids[row] = idOrder[k];
    indexedRows[idOrder[k]] = row;
  });

  const classOfId = indexedRows.map((row) => classOrder.indexOf(images[row].primaryClass));
  const codes = rules.idScheme === 'hierarchical' ? hierarchicalCodes(classOfId, classOrder.length) : indexedRows.map((_, id) => decimalCode(id));

  assignQueryRoles(queriesByClass, rules.querySplit, new Rng((rules.seed ^ QUERY_STREAM) >>> 0), roles);

  const relevantIds = images.map((img, i) => (roles[i] === 'indexed' ? [] : relevantFor(img, images, indexedRows, rules.multiLabel)));
  return { roles, ids, relevantIds, indexedRows, codes };
}

function relevantFor(query: SplitImage, images: readonly SplitImage[], indexedRows: number[], multiLabel: boolean): number[] {
  const wanted = new Set(multiLabel ? query.classes : [query.primaryClass]);
  const out: number[] = [];
  indexedRows.forEach((row, id) => {
    const img = images[row];
    const shares = multiLabel ? img.classes.some((c) => wanted.has(c)) : wanted.has(img.primaryClass);
    if (shares) out.push(id);
  });
  return out; // already ascending: ids are visited in order
}

/**
 * Stratified query split. Each class's queries are shuffled (seeded); how many go to val and test
 * is decided by rounding the CUMULATIVE expected counts over the classes, so every class gets its
 * share (+-1) and the totals match round(total * fraction) exactly, even with many tiny classes.
 */
export function assignQueryRoles(
  queriesByClass: readonly number[][],
  querySplit: readonly [number, number, number],
  rng: Rng,
  roles: Role[],
): void {
  const sum = querySplit[0] + querySplit[1] + querySplit[2];
  const fVal = querySplit[1] / sum;
  const fTest = querySplit[2] / sum;
  let seen = 0;
  let valSoFar = 0;
  let testSoFar = 0;
  for (const queries of queriesByClass) {
    seen += queries.length;
    const clamp = (n: number, max: number) => Math.max(0, Math.min(n, max));
    const nTest = clamp(Math.round(seen * fTest) - testSoFar, queries.length);
    const nVal = clamp(Math.round(seen * fVal) - valSoFar, queries.length - nTest);
    testSoFar += nTest;
    valSoFar += nVal;
    const shuffled = rng.shuffle([...queries]);
    shuffled.forEach((row, k) => {
      roles[row] = k < nTest ? 'test' : k < nTest + nVal ? 'val' : 'train';
    });
  }
}
