// Rules for the test files themselves, where breaking them costs the next engineer real time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/config/load.ts';

/** The argument list of the call whose "(" is at `open`, split at top-level commas (strings skipped). */
function callArguments(text: string, open: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = open + 1;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) {
      depth--;
      if (depth === 0) {
        args.push(text.slice(start, i));
        return args.filter((a) => a.trim() !== '');
      }
    } else if (c === ',' && depth === 1) {
      args.push(text.slice(start, i));
      start = i + 1;
    }
  }
  throw new Error(`unbalanced call at offset ${open}`);
}

test('every assert.ok in the suite carries a message (without one, a failing check can take minutes to report)', () => {
  // Node 20 builds the message of a message-less assert.ok by tokenising the source line it was
  // called from; under tsx's loader that can be the whole transformed file, and one failure in
  // test/grid.test.ts took over six minutes of CPU to print (nodejs/node#52677).
  const testDir = join(PROJECT_ROOT, 'test');
  const bare: string[] = [];
  for (const file of readdirSync(testDir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(testDir, file), 'utf8');
    for (const m of text.matchAll(/\bassert\.ok\(/g)) {
      if (callArguments(text, m.index! + m[0].length - 1).length < 2) {
        bare.push(`${file}:${text.slice(0, m.index).split('\n').length}`);
      }
    }
  }
  assert.deepEqual(bare, [], `assert.ok without a message at ${bare.join(', ')}`);
});

test('the hygiene scan reads calls as calls: commas inside strings, calls and objects do not count', () => {
  const args = (code: string) => callArguments(code, code.indexOf('('));
  assert.equal(args(`check(f(a, b) && "x,y".length > 0)`).length, 1, 'one argument');
  assert.equal(args(`check({ a: 1, b: 2 }.a === 1, 'a, b')`).length, 2, 'two arguments');
  assert.equal(args("check(`${a}, ${b}` !== '',\n  `message ${x}`,\n)").length, 2, 'multi-line, trailing comma');
});
