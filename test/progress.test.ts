import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Corpus } from '../src/data/types.ts';
import { buildBovwArrays } from '../src/bovw/bovw-index.ts';
import { initBackend } from '../src/runtime/backend.ts';
import { printNotice, progressBar, setProgressStream, type ProgressStream } from '../src/runtime/progress.ts';
import { createTracker } from '../src/track/tracker.ts';
import { trainingSummary } from '../src/train/summary.ts';
import { trainRun } from '../src/train/train.ts';
import { tempDir, tinyConfig, tinyCorpus } from './train-fixtures.ts';

delete process.env.DSI_NO_PROGRESS;
const dirs = tempDir('progress');
let corpus: Corpus;
let backend: string;
before(async () => {
  backend = await initBackend('wasm');
  corpus = await tinyCorpus();
});
after(() => dirs.cleanup());

/** A stand-in stderr: a terminal (isTTY) or a log file; records every write. */
function fakeStream(isTTY: boolean): ProgressStream & { writes: string[]; text: () => string } {
  const writes: string[] = [];
  return { isTTY, columns: 160, writes, write: (t: string) => writes.push(t), text: () => writes.join('') };
}

/** What a terminal finally shows: each \r\x1b[2K clears the line being drawn. */
function screen(output: string): string[] {
  const lines: string[] = [];
  for (const raw of output.split('\n')) {
    const parts = raw.split('\r\x1b[2K');
    lines.push(parts[parts.length - 1]);
  }
  return lines.filter((l) => l.length);
}

async function train(name: string, stream: ProgressStream) {
  const previous = setProgressStream(stream);
  try {
    const tracker = createTracker(name, join(dirs.path, 'experiments'), { warn: () => {} });
    const config = tinyConfig({ 'train.indexing_epochs': 3, 'train.retrieval_epochs': 2 });
    const result = await trainRun({ config, corpus, runName: name, backend, tracker, checkpointsDir: join(dirs.path, 'checkpoints'), log: () => {} });
    return { result, tracker };
  } finally {
    setProgressStream(previous);
  }
}

test('training on a terminal: one live bar per phase with the phase ETA and the epoch, not a bar per epoch', async () => {
  const tty = fakeStream(true);
  await train('tty', tty);
  const shown = screen(tty.text());
  const bars = shown.filter((l) => /^(indexing|retrieval) epoch \d+\/\d+ \|/.test(l));
  assert.deepEqual(bars.map((l) => l.split(' ')[0]), ['indexing', 'retrieval'], shown.join('\n'));
  assert.match(bars[0], /^indexing epoch 3\/3 \|█+\| 36\/36 img \| [\d.]+ img\/s \| ETA 0s/);
  // While running, the ETA is the whole phase's: mid-phase redraws show an epoch below the last.
  assert.ok(tty.writes.some((w) => /indexing epoch 1\/3 \|.*\d+\/36 img.*ETA/.test(w)), 'tty.writes.some((w) => /indexing epoch 1\\/3 \\|.*\\d+\\/36 img.*ETA/.test(w))');
  // Each retrieval epoch prints its val loss on a line of its own above the bar.
  assert.equal(shown.filter((l) => /^retrieval epoch \d\/2: loss .* \| val loss /.test(l)).length, 2);
});

test('training into a log file: a plain line per epoch', async () => {
  const file = fakeStream(false);
  await train('file', file);
  const lines = file.text().split('\n');
  assert.equal(lines.filter((l) => /^indexing epoch [123]\/3: loss [\d.]+ tok [\d.]+ id [\d.]+ \([\d.]+ img\/s/.test(l)).length, 3, file.text());
  assert.equal(lines.filter((l) => /^retrieval epoch [12]\/2: loss .* \| val loss/.test(l)).length, 2);
  assert.ok(!file.text().includes('\r'), 'no bar drawing in a file');
});

test('the end-of-train summary names the plots and the next commands', async () => {
  const { result, tracker } = await train('summary', fakeStream(false));
  const text = trainingSummary({ ...result, runName: 'summary', backend, checkpointsDir: join(dirs.path, 'checkpoints', 'summary'), experimentsDir: tracker.dir }).join('\n');
  assert.match(text, /plots: .*indexing-curves\.png, .*retrieval-curves\.png/);
  assert.match(text, /dsi eval --run summary/);
  assert.match(text, /dsi search IMAGE --run summary/);
  assert.doesNotMatch(text, /--resume/);
  const stopped = trainingSummary({ ...result, completed: false, runName: 'summary', backend, checkpointsDir: '/x', experimentsDir: join(dirs.path, 'nowhere') }).join('\n');
  assert.match(stopped, /dsi train --resume --run summary/);
  assert.match(stopped, /plots: none yet/);
});

test('k-means: the bar ends done when it converges, without internal counters', () => {
  const tty = fakeStream(true);
  const previous = setProgressStream(tty);
  let iterations: number;
  try {
    const config = { ...tinyConfig().bovw, clusters: 8, kmeans_iterations: 100 };
    iterations = buildBovwArrays(corpus, config).meta.stats.kmeansIterations;
  } finally {
    setProgressStream(previous);
  }
  assert.ok(iterations < 100, `k-means should converge before 100 iterations on ${corpus.indexedRows.length} images`);
  const kmeans = screen(tty.text()).find((l) => l.startsWith('k-means'))!;
  assert.match(kmeans, new RegExp(`^k-means \\|█{24}\\| ${iterations}/${iterations} iter`));
  assert.doesNotMatch(tty.text(), /searched/);
});

test('Ctrl-C: the bar is cleared and silenced before the notice, so no redraw garbles it', () => {
  const tty = fakeStream(true);
  const bar = progressBar('indexing', 100, 'img', tty);
  bar.status('epoch 2/10');
  bar.tick(5);
  printNotice('\ndsi train: stopping after this step (Ctrl-C again to quit now); resume with --resume', tty);
  const notice = tty.writes.length;
  bar.tick(5, { loss: 0.5 }); // the step in flight finishes
  bar.line('indexing epoch 2/10: loss 0.5');
  bar.stop();
  assert.equal(tty.writes[notice - 2], '\r\x1b[2K', 'the bar line is erased just before the notice');
  assert.match(tty.writes[notice - 1], /^\ndsi train: stopping after this step .*resume with --resume\n$/);
  assert.deepEqual(tty.writes.slice(notice), [], 'nothing is drawn after the notice');
});
