/**
 * ID tokenizer. IDs are decimal digits without leading zeros. Vocabulary: digits 0-9 plus
 * begin, end and padding (13 tokens). A target sequence is `digits..., END, PAD...`; the decoder
 * input is the same sequence shifted right behind BEGIN. PAD positions are ignored by the loss.
 */
export const BEGIN = 10;
export const END = 11;
export const PAD = 12;
export const VOCAB_SIZE = 13;

/** Length of every token sequence for IDs of at most `idLength` digits (digits + END). */
export function sequenceLength(idLength: number): number {
  return idLength + 1;
}

/** Digits needed for the largest of `count` IDs (0..count-1). */
export function idLengthFor(count: number): number {
  return String(Math.max(0, count - 1)).length;
}

export function idToDigits(id: number): number[] {
  if (!Number.isInteger(id) || id < 0) throw new Error(`ID ${id} must be a non-negative integer`);
  return String(id).split('').map(Number);
}

/** Target tokens for one ID: digits, END, then PAD up to `sequenceLength(idLength)`. */
export function encodeTarget(id: number, idLength: number): number[] {
  const digits = idToDigits(id);
  if (digits.length > idLength) throw new Error(`ID ${id} has more than ${idLength} digits`);
  const seq = [...digits, END];
  while (seq.length < sequenceLength(idLength)) seq.push(PAD);
  return seq;
}

/** Decoder input for teacher forcing: BEGIN followed by the target without its last token. */
export function decoderInputFor(target: readonly number[]): number[] {
  return [BEGIN, ...target.slice(0, -1)];
}

/**
 * Tokens back to an ID, or null when they do not spell a valid ID: digits then END (trailing
 * PAD allowed), no leading zero (except "0" itself), at least one digit.
 */
export function decodeTokens(tokens: readonly number[]): number | null {
  const digits: number[] = [];
  let ended = false;
  for (const t of tokens) {
    if (ended) {
      if (t !== PAD) return null;
      continue;
    }
    if (t === END) {
      ended = true;
    } else if (t >= 0 && t <= 9) {
      digits.push(t);
    } else {
      return null;
    }
  }
  if (!ended || digits.length === 0) return null;
  if (digits.length > 1 && digits[0] === 0) return null;
  return Number(digits.join(''));
}

/**
 * Code strings. The numeric ID (0..n-1, the image's identity everywhere else) is written as a
 * digit string: its decimal form for `clustered` and `random` (the reference), a fixed-length
 * zero-padded code for `hierarchical` and `semantic`, whose prefixes name a class or a cluster.
 * `Corpus.codes[id]` holds it; corpora without codes use the decimal form.
 */
export type IdScheme = 'clustered' | 'random' | 'hierarchical' | 'semantic';

/** The reference's code of an ID: its decimal digits. */
export function decimalCode(id: number): string {
  return idToDigits(id).join('');
}

/** Target tokens for one code string: digits, END, then PAD up to `sequenceLength(idLength)`. */
export function encodeCode(code: string, idLength: number): number[] {
  if (!/^[0-9]+$/.test(code)) throw new Error(`ID code "${code}" must be decimal digits`);
  if (code.length > idLength) throw new Error(`ID code "${code}" has more than ${idLength} digits`);
  const seq = [...code.split('').map(Number), END];
  while (seq.length < sequenceLength(idLength)) seq.push(PAD);
  return seq;
}

/** Digits needed to write 0..count-1 with zero padding (at least 1). */
export function paddedWidth(count: number): number {
  return String(Math.max(0, count - 1)).length;
}

export function zeroPad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/**
 * Hierarchical codes: the class index zero-padded (so with more than 10 classes the first digit
 * names a group of ten classes and the next the class within it), then the image's position in
 * its class zero-padded. `classOfId[id]` is the class index of each ID; IDs of one class keep
 * their order. Every code has the same length.
 */
export function hierarchicalCodes(classOfId: readonly number[], classCount: number): string[] {
  const sizes = new Array<number>(classCount).fill(0);
  for (const c of classOfId) sizes[c]++;
  const classWidth = paddedWidth(classCount);
  const itemWidth = paddedWidth(Math.max(1, ...sizes));
  const seen = new Array<number>(classCount).fill(0);
  return classOfId.map((c) => zeroPad(c, classWidth) + zeroPad(seen[c]++, itemWidth));
}
