/**
 * Phase 2 model selection by retrieval (train.select_on=val_p10): after an epoch, rank the VAL
 * queries and the indexed images with the current weights exactly as `dsi eval` ranks test
 * queries and measures IA (the same ranker: beam search over the trie of indexed IDs,
 * src/eval/rankers.ts), so the IA@1 floor is the IA@1 eval reports. Greedy decoding is stricter
 * (on data/samples 0.93 where eval's beam gave 0.98), so a greedy floor would reject models eval
 * counts as keeping their index. Test queries are never read here.
 */
import type { DsiConfig } from '../config/schema.ts';
import { queriesOf } from '../data/types.ts';
import { indexingAccuracyAtK, precisionAtK, relevanceOf } from '../eval/metrics.ts';
import { corpusQueries, indexedQueries, type QuerySet } from '../eval/queries.ts';
import { modelRanker } from '../eval/rankers.ts';
import { modelFromState } from '../model/dsi-model.ts';
import type { Corpus, ModelShape } from '../types.ts';
import type { TrainingEngine } from './engine/engine.ts';

/** P@K of the selection: the reference's headline metric is precision at 10. */
export const SELECT_K = 10;

export interface ValRetrieval {
  /** Mean P@10 over the val queries (a query without relevant images counts 0, as in eval). */
  val_p10: number;
  /** IA@1 over the indexed images, as `dsi eval` measures it. */
  ia: number;
}

/** What selection ranks every epoch, built once per run: the val queries and the indexed images (null without val queries). */
export interface SelectionQueries {
  val: QuerySet;
  indexed: QuerySet;
}

export function selectionQueries(corpus: Corpus): SelectionQueries | null {
  const val = queriesOf(corpus, 'val');
  return val.length ? { val: corpusQueries(corpus, val, 'val queries'), indexed: indexedQueries(corpus) } : null;
}

/** Forward passes only: the engine's weights and the run's Rng are left as they were, so resume stays exact. */
export async function measureValRetrieval(
  engine: TrainingEngine,
  config: DsiConfig,
  corpus: Corpus,
  shape: ModelShape,
  { val: queries, indexed: own }: SelectionQueries,
): Promise<ValRetrieval> {
  const { weights } = await engine.getState();
  const ranker = modelRanker('fine-tuned', modelFromState(config.model, shape, weights), corpus, config.decode);
  try {
    const { lists } = await ranker.rank(queries, SELECT_K, () => {});
    const p = lists.map((l, i) => precisionAtK(l.ids, relevanceOf(queries.relevant[i]), SELECT_K));
    // eval ranks the indexed images once for every IA@K it reports (K = max eval.ia_k); so does this.
    const iaLists = (await ranker.rank(own, Math.max(1, ...config.eval.ia_k), () => {})).lists;
    const ia = indexingAccuracyAtK(iaLists.map((l) => l.ids), own.relevant.map((r) => r[0]), 1);
    return { val_p10: p.reduce((a, b) => a + b, 0) / Math.max(1, p.length), ia };
  } finally {
    ranker.dispose();
  }
}
