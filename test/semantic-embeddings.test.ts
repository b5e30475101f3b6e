// Semantic IDs from embeddings a researcher brings (data.semantic_embeddings + data.semantic_names):
// the .npy rows decide the IDs, the files count by content in the corpus hash, bad files stop with
// an error naming the key and the problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump } from 'npyjs';
import { loadConfig } from '../src/config/load.ts';
import { prepareCorpus } from '../src/data/corpus.ts';
import { idCodes } from '../src/data/types.ts';
import { embeddingsFor, readExternalEmbeddings } from '../src/data/semantic-embeddings.ts';
import { IMAGENETTE, tempDir } from './data-fixtures.ts';

process.env.DSI_NO_PROGRESS = '1';

/** Every sample photo as "<class>/<file>", in a fixed order. */
function samplePhotos(): string[] {
  return readdirSync(IMAGENETTE, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(join(IMAGENETTE, d.name)).filter((f) => f.endsWith('.jpg')).map((f) => `${d.name}/${f}`))
    .sort();
}

/** A Fortran-order float64 .npy written byte by byte (npyjs writes C order only). */
function fortranNpy(rows: number, cols: number, at: (r: number, c: number) => number): Buffer {
  let header = `{'descr': '<f8', 'fortran_order': True, 'shape': (${rows}, ${cols}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const values = new Float64Array(rows * cols);
  for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) values[c * rows + r] = at(r, c);
  const prefix = Buffer.alloc(10);
  Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0]).copy(prefix);
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(values.buffer)]);
}

test('external embeddings decide semantic IDs: one-hot class embeddings give class-aligned codes; content, not path, is hashed', async () => {
  const dir = tempDir('semantic-emb');
  const photos = samplePhotos();
  const classes = [...new Set(photos.map((p) => p.split('/')[0]))];
  // One-hot class embeddings (+ a tiny per-image offset so images differ): clusters = classes.
  const dim = classes.length;
  const values = new Float32Array(photos.length * dim);
  photos.forEach((p, i) => {
    values[i * dim + classes.indexOf(p.split('/')[0])] = 1;
    values[i * dim + ((i * 7) % dim)] += 0.01;
  });
  // Rows in reverse order, names as paths relative to data.root: matching is by name, not order.
  const order = photos.map((_, i) => photos.length - 1 - i);
  const reordered = new Float32Array(values.length);
  order.forEach((from, to) => reordered.set(values.subarray(from * dim, (from + 1) * dim), to * dim));
  writeFileSync(join(dir, 'emb.npy'), Buffer.from(dump(reordered, [photos.length, dim])));
  writeFileSync(join(dir, 'names.txt'), order.map((i) => photos[i]).join('\n') + '\n');

  const cacheRoot = tempDir('semantic-emb-cache');
  const base = ['data.source=folder', `data.root=${IMAGENETTE}`, 'data.num_images=400', 'data.min_images_per_class=40', 'data.image_size=32', 'data.id_scheme=semantic'];
  const withFile = (npy: string, names: string) => loadConfig(null, [...base, `data.semantic_embeddings=${npy}`, `data.semantic_names=${names}`]).config.data;
  const corpus = await prepareCorpus(withFile(join(dir, 'emb.npy'), join(dir, 'names.txt')), { cacheRoot });
  // Every class's indexed images share the leading digit, and no two classes do.
  const leadByClass = new Map<string, Set<string>>();
  corpus.indexedRows.forEach((row, id) => {
    const cls = corpus.records[row].classes[0];
    leadByClass.set(cls, (leadByClass.get(cls) ?? new Set()).add(idCodes(corpus)[id][0]));
  });
  assert.equal(leadByClass.size, corpus.classNames.length);
  for (const [cls, leads] of leadByClass) assert.equal(leads.size, 1, `class ${cls} spans leading digits ${[...leads]}`);
  assert.equal(new Set([...leadByClass.values()].map((s) => [...s][0])).size, leadByClass.size);
  // The built-in histograms make other codes, under another hash.
  const histogram = await prepareCorpus(loadConfig(null, base).config.data, { cacheRoot });
  assert.notEqual(histogram.hash, corpus.hash);
  // The same bytes elsewhere: same corpus (reused). Other bytes: another corpus.
  copyFileSync(join(dir, 'emb.npy'), join(dir, 'moved.npy'));
  const moved = await prepareCorpus(withFile(join(dir, 'moved.npy'), join(dir, 'names.txt')), { cacheRoot });
  assert.equal(moved.hash, corpus.hash);
  assert.equal(moved.reused, true);
  const fortran = fortranNpy(photos.length, dim, (r, c) => reordered[r * dim + c] * 2);
  writeFileSync(join(dir, 'scaled.npy'), fortran);
  const scaled = await prepareCorpus(withFile(join(dir, 'scaled.npy'), join(dir, 'names.txt')), { cacheRoot });
  assert.notEqual(scaled.hash, corpus.hash);
  // Doubling every embedding keeps k-means' clusters: the Fortran-order file was read right.
  assert.deepEqual(idCodes(scaled), idCodes(corpus));
});

test('names match by path suffix; missing, duplicate and ambiguous names and bad files are errors naming the key', () => {
  const dir = tempDir('semantic-emb-errors');
  writeFileSync(join(dir, 'e.npy'), Buffer.from(dump(new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2])));
  writeFileSync(join(dir, 'n.txt'), 'a/x.jpg\nb/x.jpg\ny.jpg\n');
  const ext = readExternalEmbeddings(join(dir, 'e.npy'), join(dir, 'n.txt'));
  assert.deepEqual([ext.rows, ext.dim], [3, 2]);
  assert.deepEqual([...embeddingsFor(ext, ['/data/root/b/x.jpg', 'root/c/y.jpg'])], [3, 4, 5, 6]);
  assert.throws(() => embeddingsFor(ext, ['/data/root/c/z.jpg']), /data\.semantic_names names no row for 1 indexed image\(s\), e\.g\. \/data\/root\/c\/z\.jpg/);
  assert.throws(() => embeddingsFor(ext, ['/r/c/y.jpg', '/r/d/y.jpg']), /row 2 \("y\.jpg"\) matches two images/);
  writeFileSync(join(dir, 'short.txt'), 'a/x.jpg\n');
  assert.throws(() => readExternalEmbeddings(join(dir, 'e.npy'), join(dir, 'short.txt')), /data\.semantic_names=.*: 1 names for the 3 rows/);
  writeFileSync(join(dir, 'v.npy'), Buffer.from(dump(new Float32Array([1, 2, 3]), [3])));
  assert.throws(() => readExternalEmbeddings(join(dir, 'v.npy'), join(dir, 'n.txt')), /data\.semantic_embeddings=.*: shape \(3\), expected \(images, dimensions\)/);
  writeFileSync(join(dir, 'bad.npy'), 'not numpy');
  assert.throws(() => readExternalEmbeddings(join(dir, 'bad.npy'), join(dir, 'n.txt')), /data\.semantic_embeddings=.*: not a NumPy \.npy file/);
  assert.throws(() => readExternalEmbeddings(join(dir, 'none.npy'), join(dir, 'n.txt')), /data\.semantic_embeddings=.*none\.npy: no such file/);
  // Config: the two keys come together, and only with semantic IDs.
  assert.throws(() => loadConfig(null, ['data.semantic_embeddings=e.npy', 'data.id_scheme=semantic']), /data\.semantic_names is required with data\.semantic_embeddings/);
  assert.throws(() => loadConfig(null, ['data.semantic_embeddings=e.npy', 'data.semantic_names=n.txt']), /only used with data\.id_scheme=semantic \(it is clustered\)/);
});
