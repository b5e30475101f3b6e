import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadFile, UnreachableError, HttpStatusError } from '../src/data/download.ts';
import { UserError } from '../src/runtime/errors.ts';
import { SAMPLE_PHOTOS, sampleClasses } from './helpers/test-data.ts';

process.env.DSI_NO_PROGRESS = '1';

// Real JPEG bytes (the repo's sample photos back to back, ~0.7 MB) so sizes and content are realistic.
let payload: Buffer;

/** What the server should do with the next requests for /file; each request consumes one mode. */
type Mode = 'full' | 'cut' | 'ignore-range' | 'hang';
let modes: Mode[] = [];
const seen: { path: string; range?: string; auth?: string }[] = [];
let server: Server;
let base: string;
let dir: string;

function serveFile(req: IncomingMessage, res: ServerResponse, mode: Mode) {
  if (mode === 'hang') return; // accept the connection, never answer
  const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
  const start = range && mode !== 'ignore-range' ? Number(range[1]) : 0;
  if (start >= payload.length && range) {
    res.writeHead(416, { 'Content-Range': `bytes */${payload.length}` }).end();
    return;
  }
  const body = payload.subarray(start);
  res.writeHead(start > 0 ? 206 : 200, {
    'Content-Length': body.length,
    ...(start > 0 ? { 'Content-Range': `bytes ${start}-${payload.length - 1}/${payload.length}` } : {}),
  });
  if (mode === 'cut') {
    // Send half, then close the connection (FIN, so the bytes arrive): a transfer that breaks mid-way.
    res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket!.end());
  } else {
    res.end(body);
  }
}

before(async () => {
  const files: string[] = [];
  for (const wnid of sampleClasses()) for (const name of (await readdir(join(SAMPLE_PHOTOS, wnid))).sort()) files.push(join(SAMPLE_PHOTOS, wnid, name));
  payload = Buffer.concat(await Promise.all(files.map((f) => readFile(f))));
  dir = await mkdtemp(join(tmpdir(), 'dsi-download-'));
  server = createServer((req, res) => {
    seen.push({ path: req.url!, range: req.headers.range, auth: req.headers.authorization });
    if (req.url === '/file') return serveFile(req, res, modes.shift() ?? 'full');
    if (req.url === '/moved') return void res.writeHead(302, { Location: '/file' }).end();
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no such file');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

test('downloads the exact bytes, follows redirects, sends headers, leaves no .part', async () => {
  modes = [];
  seen.length = 0;
  const dest = join(dir, 'a', 'photos.bin');
  await downloadFile(`${base}/moved`, dest, { headers: { Authorization: 'Bearer hf_test' } });
  assert.ok(payload.length > 50_000, 'payload.length > 50_000');
  assert.deepEqual(await readFile(dest), payload);
  assert.deepEqual(await readdir(join(dir, 'a')), ['photos.bin']);
  assert.equal(seen.at(-1)!.auth, 'Bearer hf_test');
});

test('a broken transfer keeps the .part and the next call resumes it with a Range request', async () => {
  modes = ['cut'];
  seen.length = 0;
  const dest = join(dir, 'b.bin');
  await assert.rejects(downloadFile(`${base}/file`, dest, { retries: 0 }), (e: unknown) => {
    assert.ok(e instanceof UserError, 'e instanceof UserError');
    assert.match(e.message, /broke off.*run the command again to resume/);
    return true;
  });
  const partial = await readFile(`${dest}.part`);
  assert.ok(partial.length > 0 && partial.length < payload.length, `partial ${partial.length}`);
  assert.deepEqual(partial, payload.subarray(0, partial.length));

  await downloadFile(`${base}/file`, dest);
  assert.equal(seen.at(-1)!.range, `bytes=${partial.length}-`);
  assert.deepEqual(await readFile(dest), payload);
});

test('a transfer that breaks mid-way is resumed automatically within one call', async () => {
  modes = ['cut', 'cut'];
  seen.length = 0;
  const dest = join(dir, 'c.bin');
  await downloadFile(`${base}/file`, dest, { retries: 3, expectedSize: payload.length });
  assert.deepEqual(await readFile(dest), payload);
  assert.equal(seen.length, 3);
  assert.equal(seen[0].range, undefined);
  assert.match(seen[1].range!, /^bytes=\d+-$/);
});

test('a server that ignores Range makes the download start over, not splice bytes', async () => {
  modes = ['ignore-range'];
  const dest = join(dir, 'd.bin');
  await writeFile(`${dest}.part`, payload.subarray(0, 1000));
  await downloadFile(`${base}/file`, dest);
  assert.deepEqual(await readFile(dest), payload);
});

test('a .part that already holds every byte is completed from the 416 answer', async () => {
  modes = [];
  const dest = join(dir, 'e.bin');
  await writeFile(`${dest}.part`, payload);
  await downloadFile(`${base}/file`, dest);
  assert.deepEqual(await readFile(dest), payload);
});

test('HTTP errors name the URL and the status, and leave no file behind', async () => {
  const dest = join(dir, 'f.bin');
  await assert.rejects(downloadFile(`${base}/missing.bin?sig=secret`, dest), (e: unknown) => {
    assert.ok(e instanceof HttpStatusError, 'e instanceof HttpStatusError');
    assert.equal(e.status, 404);
    assert.match(e.message, /127\.0\.0\.1:\d+\/missing\.bin.*HTTP 404/);
    assert.doesNotMatch(e.message, /secret/);
    return true;
  });
  await assert.rejects(readFile(dest));
});

test('an unreachable host fails fast: refused port and a host that never answers', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const closedPort = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));

  let t0 = Date.now();
  await assert.rejects(downloadFile(`http://127.0.0.1:${closedPort}/x`, join(dir, 'g.bin')), (e: unknown) => {
    assert.ok(e instanceof UnreachableError, 'e instanceof UnreachableError');
    assert.match(e.message, /cannot reach http:\/\/127\.0\.0\.1:\d+\/x \(ECONNREFUSED\)/);
    return true;
  });
  assert.ok(Date.now() - t0 < 3000, 'Date.now() - t0 < 3000');

  modes = ['hang'];
  t0 = Date.now();
  await assert.rejects(downloadFile(`${base}/file`, join(dir, 'h.bin'), { connectTimeoutMs: 300 }), (e: unknown) => {
    assert.ok(e instanceof UnreachableError, 'e instanceof UnreachableError');
    assert.match(e.message, /no answer within 0\.3 s/);
    return true;
  });
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
});
