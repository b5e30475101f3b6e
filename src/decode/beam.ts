/**
 * Beam search over ID tokens. The search only sees a `NextTokenScorer` (prefixes -> next-token
 * log-probabilities), so it is tested with synthetic scorers and run with the model alike.
 *
 * Each step every open hypothesis of a query proposes its allowed next tokens; the `beamWidth`
 * best candidates by cumulative log-probability are kept, finished ones (END) competing with open
 * ones for those slots as in standard beam search (so width 1 is exactly greedy decoding).
 * Finished hypotheses are collected in a pool that may exceed K; the answer is the pool's K best.
 * Log-probabilities are <= 0, so an open hypothesis scoring below the K-th finished one can never
 * reach the top K: it is dropped, and a query stops once it has no open hypothesis left.
 *
 * Constrained (default): allowed tokens come from the trie of indexed IDs, so every result is a
 * real image and none repeats. Unconstrained: any token may be written; a finished sequence that
 * is not an indexed ID is dropped and counted (never mapped to a "nearby" ID).
 */
import { BEGIN, END, PAD, VOCAB_SIZE } from '../data/ids.ts';
import type { RankedList } from '../types.ts';
import type { IdTrie, TrieNode } from './trie.ts';

export interface ScoreRequest {
  /** Which query (index into the batch) the prefix belongs to. */
  query: number;
  /** Digit tokens written so far (BEGIN not included). All prefixes of one call are equally long. */
  prefix: readonly number[];
}

/** Log-probabilities of the next token: VOCAB_SIZE values per request, row after row. */
export type NextTokenScorer = (requests: readonly ScoreRequest[]) => Promise<Float32Array>;

export interface BeamOptions {
  beamWidth: number;
  /** Results wanted per query (K); must not exceed beamWidth. */
  topK: number;
  /** Restrict to IDs in the trie (true) or let the model write anything and drop invalid IDs. */
  constrained: boolean;
  /** Longest ID in digits: the decoder's sequence holds maxDigits digits + END. */
  maxDigits: number;
}

export interface BeamResult extends RankedList {
  /** Unconstrained mode: hypotheses among the K best that were not indexed IDs (dropped). */
  invalid: number;
}

interface Open {
  digits: number[];
  score: number;
  node: TrieNode | null;
}

interface Finished {
  id: number | null;
  score: number;
}

interface Candidate {
  parent: Open;
  token: number;
  score: number;
}

const byScoreThenId = (a: Finished, b: Finished) => b.score - a.score || (a.id ?? Infinity) - (b.id ?? Infinity);

export async function beamSearch(queryCount: number, scorer: NextTokenScorer, trie: IdTrie, opts: BeamOptions): Promise<BeamResult[]> {
  const { beamWidth, topK, constrained, maxDigits } = opts;
  if (!(topK >= 1 && beamWidth >= topK)) throw new Error(`beam width ${beamWidth} must be at least K = ${topK} (and K >= 1)`);
  if (trie.maxDigits > maxDigits) throw new Error(`the trie holds IDs of ${trie.maxDigits} digits but the decoder writes at most ${maxDigits}`);
  const open: Open[][] = Array.from({ length: queryCount }, () => [{ digits: [], score: 0, node: trie.root }]);
  const finished: Finished[][] = Array.from({ length: queryCount }, () => []);

  for (let step = 0; step <= maxDigits && open.some((o) => o.length > 0); step++) {
    const requests: ScoreRequest[] = [];
    open.forEach((beams, query) => beams.forEach((b) => requests.push({ query, prefix: b.digits })));
    const logProbs = await scorer(requests);
    if (logProbs.length !== requests.length * VOCAB_SIZE) {
      throw new Error(`scorer returned ${logProbs.length} values for ${requests.length} prefixes (expected ${requests.length * VOCAB_SIZE})`);
    }
    let row = 0;
    for (let q = 0; q < queryCount; q++) {
      const candidates: Candidate[] = [];
      for (const parent of open[q]) {
        const base = row++ * VOCAB_SIZE;
        for (const token of allowedTokens(parent, constrained, trie)) {
          candidates.push({ parent, token, score: parent.score + logProbs[base + token] });
        }
      }
      // Stable sort: equal scores keep parent order, then token order (deterministic).
      candidates.sort((a, b) => b.score - a.score);
      const nextOpen: Open[] = [];
      for (const c of candidates.slice(0, beamWidth)) {
        const ended = finish(c, step, maxDigits);
        if (ended) finished[q].push(ended);
        else nextOpen.push({ digits: [...c.parent.digits, c.token], score: c.score, node: c.parent.node?.children[c.token] ?? null });
      }
      open[q] = pruneHopeless(nextOpen, finished[q], topK);
    }
  }
  return finished.map((pool) => {
    const best = pool.sort(byScoreThenId).slice(0, topK);
    const valid = best.filter((f): f is { id: number; score: number } => f.id !== null);
    return { ids: valid.map((f) => f.id), scores: valid.map((f) => f.score), invalid: best.length - valid.length };
  });
}

function allowedTokens(beam: Open, constrained: boolean, trie: IdTrie): number[] {
  if (constrained) return trie.allowedTokens(beam.node!);
  return ALL_TOKENS;
}
const ALL_TOKENS = Array.from({ length: VOCAB_SIZE }, (_, t) => t);

/** The finished hypothesis a candidate makes (id null when invalid), or null when it stays open. */
function finish(c: Candidate, step: number, maxDigits: number): Finished | null {
  if (c.token === END) {
    const node = c.parent.node;
    return { id: node && node.id !== null ? node.id : null, score: c.score };
  }
  // Unconstrained only: BEGIN/PAD mid-ID, or a digit past the longest ID, spells no ID.
  if (c.token === BEGIN || c.token === PAD || step >= maxDigits) return { id: null, score: c.score };
  return null;
}

/** Drop open hypotheses that cannot enter the top K any more (extending never raises a score). */
function pruneHopeless(beams: Open[], pool: Finished[], topK: number): Open[] {
  if (pool.length < topK) return beams;
  const kth = pool.map((f) => f.score).sort((a, b) => b - a)[topK - 1];
  return beams.filter((b) => b.score >= kth);
}

/**
 * Greedy decoding without constraints, written independently of the beam search (tests compare
 * the two): the most likely token at every step until END or maxDigits + 1 tokens. `id` is the
 * indexed ID the tokens spell, or null when they spell none.
 */
export async function greedyDecode(
  queryCount: number,
  scorer: NextTokenScorer,
  trie: IdTrie,
  maxDigits: number,
): Promise<{ id: number | null; tokens: number[]; score: number }[]> {
  const out = Array.from({ length: queryCount }, () => ({ id: null as number | null, tokens: [] as number[], score: 0, done: false }));
  for (let step = 0; step <= maxDigits; step++) {
    const live = out.map((o, q) => ({ o, q })).filter(({ o }) => !o.done);
    if (live.length === 0) break;
    const logProbs = await scorer(live.map(({ o, q }) => ({ query: q, prefix: o.tokens })));
    live.forEach(({ o }, r) => {
      const row = logProbs.subarray(r * VOCAB_SIZE, (r + 1) * VOCAB_SIZE);
      let best = 0;
      for (let t = 1; t < VOCAB_SIZE; t++) if (row[t] > row[best]) best = t;
      o.tokens.push(best);
      o.score += row[best];
      if (best > 9 || step === maxDigits) o.done = true;
    });
  }
  return out.map(({ tokens, score }) => ({ id: trie.idOf(tokens), tokens, score }));
}
