// Decode latency of a trained run: ms per query for constrained beam search at several K (beam
// width = K), on the run's test queries, in batches of decode.batch_size. Wall time includes the
// encoder pass (once per query) and the beam steps.
//   npx tsx scripts/bench-decode.ts [RUN|latest] [K ...]      (default K: 1 10 100)
import { queriesOf } from '../src/data/types.ts';
import { searchWithModel } from '../src/decode/model-search.ts';
import { IdTrie } from '../src/decode/trie.ts';
import { corpusQueries } from '../src/eval/queries.ts';
import { openRun } from '../src/eval/setup.ts';
import { modelFromState } from '../src/model/dsi-model.ts';

const [runArg = 'latest', ...kArgs] = process.argv.slice(2);
const ks = kArgs.length ? kArgs.map(Number) : [1, 10, 100];
const run = await openRun({ run: runArg });
const { corpus, config } = run;
const ckpt = run.retrieval ?? run.indexing;
const model = modelFromState(ckpt.config.model, ckpt.shape, ckpt.weights);
const trie = new IdTrie(corpus.indexedRows.map((_, id) => id));
const queries = corpusQueries(corpus, queriesOf(corpus, 'test'), 'test queries');
const input = { pixels: queries.pixels, count: queries.count, imageSize: queries.imageSize };
console.log(`run ${run.runName} (${run.backend}): ${queries.count} test queries, ${corpus.indexedRows.length} indexed IDs of ${corpus.idLength} digits, decode batch ${config.decode.batch_size}`);
// One untimed pass so kernel set-up and JIT do not count against the first K.
await searchWithModel(model, trie, { ...input, count: Math.min(queries.count, config.decode.batch_size) }, { beamWidth: 1, topK: 1, constrained: true, batchSize: config.decode.batch_size });
for (const k of ks) {
  const { msPerQuery } = await searchWithModel(model, trie, input, { beamWidth: k, topK: k, constrained: true, batchSize: config.decode.batch_size });
  console.log(`K = ${String(k).padStart(3)} (beam ${k}): ${msPerQuery.toFixed(1)} ms/query`);
}
model.dispose();
