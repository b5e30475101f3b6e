// Decode latency: ms per query for constrained beam search at several K (beam width = K), in
// batches of decode.batch_size. Wall time includes the encoder pass (once per query) and the beam steps.
//   npx tsx scripts/bench-decode.ts [RUN|latest] [K ...]      a trained run, on its test queries (default K: 1 10 100)
//   npx tsx scripts/bench-decode.ts --random [K ...] [--profile] [--uncached] [--batch N]
//       an untrained model of configs/imagenette.yaml's shape (160 px, 6+6 layers, 128 IDs of 3 digits)
//       on 32 synthetic images: no run needed; --profile adds tf.profile's kernel times for the largest K.
// --uncached re-runs the whole prefix at every step (no key/value cache), for comparison.
// --batch N decodes N queries together instead of decode.batch_size.
// Each line splits the time into the encoder and the beam search (decoder steps + bookkeeping), and
// gives the process's CPU time per query: on a shared machine it moves much less than wall time.
// A trained model prunes beams differently from a random one, so quote trained-run numbers in results.
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { loadConfig } from '../src/config/load.ts';
import { idCodes, queriesOf } from '../src/data/types.ts';
import { searchWithModel } from '../src/decode/model-search.ts';
import { IdTrie } from '../src/decode/trie.ts';
import { corpusQueries } from '../src/eval/queries.ts';
import { openRun } from '../src/runs/open.ts';
import { createDsiModel, modelFromState } from '../src/model/dsi-model.ts';
import type { DsiModel } from '../src/model/types.ts';
import { initBackend } from '../src/runtime/backend.ts';
import { formatKernelTimes, kernelTimes, totalKernelMs } from '../src/bench/bench.ts';

const { values: flags, positionals: positional } = parseArgs({
  allowPositionals: true,
  options: { random: { type: 'boolean' }, profile: { type: 'boolean' }, uncached: { type: 'boolean' }, batch: { type: 'string' } },
});
const random = flags.random ?? false;
const profile = flags.profile ?? false;
const uncached = flags.uncached ?? false;
const batchArg = flags.batch === undefined ? null : Number(flags.batch);
const runArg = random ? null : (positional.shift() ?? 'latest');
const ks = positional.length ? positional.map(Number) : [1, 10, 100];

let model: DsiModel;
let trie: IdTrie;
let input: { pixels: Uint8Array; count: number; imageSize: number };
let batchSize: number;
if (runArg) {
  const run = await openRun({ run: runArg });
  const { corpus, config } = run;
  const ckpt = run.retrieval ?? run.indexing;
  model = modelFromState(ckpt.config.model, ckpt.shape, ckpt.weights);
  trie = IdTrie.fromCodes(idCodes(corpus));
  const queries = corpusQueries(corpus, queriesOf(corpus, 'test'), 'test queries');
  input = { pixels: queries.pixels, count: queries.count, imageSize: queries.imageSize };
  batchSize = config.decode.batch_size;
  console.log(`run ${run.runName} (${run.backend}): ${queries.count} test queries, ${corpus.indexedRows.length} indexed IDs of ${corpus.idLength} digits, decode batch ${batchSize}`);
} else {
  const backend = await initBackend('auto');
  const { config } = loadConfig('imagenette.yaml');
  const size = config.data.image_size;
  model = createDsiModel(config.model, { imageSize: size, idLength: 3 }, 1);
  trie = new IdTrie(Array.from({ length: 128 }, (_, id) => id));
  const count = 32;
  input = { pixels: new Uint8Array(count * size * size * 3).map((_, i) => (i * 7919) % 251), count, imageSize: size };
  batchSize = config.decode.batch_size;
  console.log(`untrained imagenette.yaml model (${backend}): ${count} synthetic queries, 128 IDs of 3 digits, decode batch ${batchSize}`);
}
if (batchArg) batchSize = batchArg;
// One untimed pass at the largest K so kernel set-up, JIT and the one-time growth of the wasm heap
// (page faults on fresh memory, ~0.5-1 s of a process's first wide search) do not count against a K.
const warmK = Math.max(...ks);
await searchWithModel(model, trie, { ...input, count: Math.min(input.count, batchSize) }, { beamWidth: warmK, topK: warmK, constrained: true, batchSize, uncached });
for (const k of ks) {
  const cpu = process.cpuUsage();
  const { msPerQuery, encodeMsPerQuery } = await searchWithModel(model, trie, input, { beamWidth: k, topK: k, constrained: true, batchSize, uncached });
  const { user, system } = process.cpuUsage(cpu);
  const cpuMs = (user + system) / 1000 / input.count;
  console.log(
    `K = ${String(k).padStart(3)} (beam ${k}${uncached ? ', uncached' : ''}, batch ${batchSize}): ${msPerQuery.toFixed(1)} ms/query ` +
      `(encoder ${encodeMsPerQuery.toFixed(1)}, search ${(msPerQuery - encodeMsPerQuery).toFixed(1)}; CPU ${cpuMs.toFixed(1)} ms/query)`,
  );
}
if (profile) {
  const k = Math.max(...ks);
  const info = await tf.profile(async () => {
    await searchWithModel(model, trie, input, { beamWidth: k, topK: k, constrained: true, batchSize, uncached });
  });
  const kernels = kernelTimes(info);
  console.log(`tf.profile, K = ${k}: ${totalKernelMs(kernels).toFixed(0)} ms kernel time (scopes not counted); top kernels:`);
  console.log(formatKernelTimes(kernels, 10, '  ').join('\n'));
}
model.dispose();
