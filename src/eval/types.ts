import type { MachineLoad } from '../runtime/machine-load.ts';
import type { RankedList } from '../types.ts';
import type { Estimate } from './bootstrap.ts';


/** One evaluated query: its ranking and the IDs relevant to it. */
export interface RankedQuery extends RankedList {
  /** Corpus row or external file: how the JSON names the query. */
  key: string;
  relevant: number[];
}

/** The reference notebook's numbers, computed as it did (sampled queries) but on real IDs. */
export interface ReferenceMetrics {
  mapK: number;
  recallK: number;
  /** What the reference calls "MAP@10": mean P@K over the sampled queries. */
  refMap: number;
  /** Recall@K over the second sample. */
  recall: number;
  /** True MAP@K (AP@K averaged) over the same sample as refMap. */
  trueMap: number;
  mapQueries: string[];
  recallQueries: string[];
}

/** Every metric over every query of a set, with 95% bootstrap intervals. */
export interface FullMetrics {
  queries: number;
  /** Queries without relevant images: in P@K (as 0), not in Recall, AP or nDCG. */
  withoutRelevant: number;
  mapK: number;
  recallK: number;
  precision: Estimate;
  map: Estimate;
  recall: Estimate;
  ndcg: Estimate;
}

export type ModelKind = 'bovw' | 'zero-shot' | 'fine-tuned' | 'dense';

export interface ModelReport {
  kind: ModelKind;
  /** Row label, e.g. "ViT DSI fine-tuned". */
  label: string;
  /** IA@K by K (null for BoVW, which has no IDs). */
  ia: Record<string, number> | null;
  reference: ReferenceMetrics | null;
  /** Over the evaluated query set (the test queries, or --queries). */
  full: FullMetrics | null;
  /** Over every query of the corpus (train + val + test): models that never trained on queries. */
  fullAllQueries: FullMetrics | null;
  /** Wall time per query of the retrieval ranking (encode + beam search, or BoVW). */
  msPerQuery: number;
  /** Unconstrained decoding: hypotheses among the top K that were not indexed IDs / all top-K slots. */
  invalidIdRate?: number;
}

export interface EvalReport {
  format: 'dsi-eval/1';
  run: string;
  created: string;
  protocol: 'reference' | 'full' | 'both';
  corpus: {
    hash: string;
    dataset: string;
    /** Indexed + query images, as the reference counts it. */
    dbSize: number;
    indexed: number;
    queries: { train: number; val: number; test: number };
    idScheme: string;
  };
  /** What the queries were: the corpus's test split, or images from a folder. */
  /** inCorpus: `--queries DIR` images left out because the corpus holds them (out-of-corpus set). */
  querySet: { source: string; count: number; skipped: number; inCorpus?: number };
  decode: { beamWidth: number; constrained: boolean; batchSize: number; backend: string; /** decode.flip_average (absent: off) */ flipAverage?: boolean };
  /** The machine while the models were timed (absent in older reports): how far ms/query can be trusted. */
  machine?: MachineLoad;
  eval: { iaK: number[]; mapK: number; mapN: number; recallK: number; recallN: number; bootstrap: number; seed: number };
  models: ModelReport[];
  /**
   * Full protocol: paired differences (A - B, bootstrapped over the same queries) between the DSI
   * models and the baselines, over the evaluated queries. Absent in reports written before them.
   */
  paired?: PairedDifference[];
  /** The checkpoints the ViT rows were read from (a run still training changes them under eval's feet). */
  checkpoints?: EvaluatedCheckpoint[];
  notes: string[];
}

export interface EvaluatedCheckpoint {
  model: 'zero-shot' | 'fine-tuned';
  kind: 'indexing' | 'retrieval';
  /** The phase and epoch (1-based, within the phase) whose weights it holds. */
  phase: 'indexing' | 'retrieval';
  epoch: number;
  step: number;
  /** When the checkpoint was written. */
  created: string;
}

/** How model A stands against model B: better, worse, or not told apart at 95%. */
export type Verdict = 'above' | 'below' | 'level';

/** Model A minus model B on the same queries; the interval resamples queries, not models. */
export interface PairedDifference {
  a: ModelKind;
  b: ModelKind;
  labelA: string;
  labelB: string;
  queries: number;
  mapK: number;
  /** Mean per-query P@K difference with its 95% paired bootstrap interval. */
  precision: Estimate;
  /** Mean per-query AP@K difference (queries with relevant images), 95% paired bootstrap interval. */
  map: Estimate;
  /** From the P@K interval: above = A better (interval above 0), below = A worse, level = includes 0. */
  verdict: Verdict;
}
