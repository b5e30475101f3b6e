import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BEGIN, END, PAD, decodeTokens, decoderInputFor, encodeTarget, idLengthFor, sequenceLength } from '../src/data/ids.ts';

test('every ID of a 2048-image index survives encode -> decode, with END and PAD where the model expects them', () => {
  const count = 2048;
  const idLength = idLengthFor(count);
  assert.equal(idLength, 4);
  for (let id = 0; id < count; id++) {
    const target = encodeTarget(id, idLength);
    assert.equal(target.length, sequenceLength(idLength));
    const digits = String(id).length;
    assert.equal(target[digits], END, `ID ${id}: END right after its ${digits} digits`);
    assert.ok(target.slice(digits + 1).every((t) => t === PAD), `ID ${id}: only PAD after END`);
    assert.equal(decodeTokens(target), id);
    const input = decoderInputFor(target);
    assert.equal(input[0], BEGIN);
    assert.deepEqual(input.slice(1), target.slice(0, -1), 'teacher forcing: the target shifted right behind BEGIN');
  }
  assert.deepEqual(encodeTarget(7, 3), [7, END, PAD, PAD]);
  assert.equal(idLengthFor(1), 1);
  assert.equal(idLengthFor(10), 1);
  assert.equal(idLengthFor(11), 2);
});

test('token sequences that spell no ID decode to null, never to a nearby ID', () => {
  assert.equal(decodeTokens([0, 7, END]), null, 'leading zero');
  assert.equal(decodeTokens([0, END]), 0, '"0" itself is an ID');
  assert.equal(decodeTokens([1, 2]), null, 'no END');
  assert.equal(decodeTokens([END, PAD]), null, 'no digit');
  assert.equal(decodeTokens([1, PAD, END]), null, 'PAD before END');
  assert.equal(decodeTokens([1, END, 3]), null, 'a digit after END');
  assert.equal(decodeTokens([1, BEGIN, END]), null, 'BEGIN inside an ID');
});

test('IDs that do not fit are refused, not truncated', () => {
  assert.throws(() => encodeTarget(1000, 3), /more than 3 digits/);
  assert.throws(() => encodeTarget(-1, 3), /non-negative integer/);
  assert.throws(() => encodeTarget(1.5, 3), /non-negative integer/);
});
