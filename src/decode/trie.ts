/**
 * Prefix tree of the IDs that exist, over the digits of their codes (decimal IDs by default;
 * `fromCodes` for fixed-length hierarchical/semantic codes). Beam search asks it which tokens
 * may follow a prefix, so every finished hypothesis is an indexed image. A node can be both an
 * ID and a prefix of longer IDs ("7" and "70"), which is why END and digits can both be allowed.
 */
import { END, PAD, idToDigits } from '../data/ids.ts';

interface TrieNode {
  children: (TrieNode | undefined)[];
  /** The ID spelled by the path to this node, when it is one. */
  id: number | null;
}

function newNode(): TrieNode {
  return { children: new Array(10), id: null };
}

export class IdTrie {
  readonly root: TrieNode = newNode();
  readonly size: number;
  /** Digits of the longest ID. */
  readonly maxDigits: number;

  private readonly digitsOf = new Map<number, number[]>();

  /** `codes[id]` is the digit string of ID `id`. */
  static fromCodes(codes: readonly string[]): IdTrie {
    return new IdTrie(codes.map((_, id) => id), (id) => codes[id].split('').map(Number));
  }

  constructor(ids: Iterable<number>, digitsOf: (id: number) => number[] = idToDigits) {
    let size = 0;
    let maxDigits = 0;
    for (const id of ids) {
      const digits = digitsOf(id);
      if (digits.length === 0 || digits.some((d) => !(d >= 0 && d <= 9))) throw new Error(`ID ${id} has no valid digit code`);
      this.digitsOf.set(id, digits);
      let node = this.root;
      for (const d of digits) node = node.children[d] ??= newNode();
      if (node.id === null) size++;
      node.id = id;
      maxDigits = Math.max(maxDigits, digits.length);
    }
    this.size = size;
    this.maxDigits = maxDigits;
  }

  /** The node after `digits`, or null when no ID starts with them. */
  walk(digits: readonly number[]): TrieNode | null {
    let node: TrieNode | undefined = this.root;
    for (const d of digits) {
      node = d >= 0 && d <= 9 ? node.children[d] : undefined;
      if (!node) return null;
    }
    return node;
  }

  has(id: number): boolean {
    const digits = this.digitsOf.get(id);
    return digits !== undefined && this.walk(digits)?.id === id;
  }

  /** The ID spelled by `tokens` (digits, END, trailing PAD), or null when they spell none. */
  idOf(tokens: readonly number[]): number | null {
    const end = tokens.indexOf(END);
    if (end < 1 || tokens.slice(end + 1).some((t) => t !== PAD)) return null;
    return this.walk(tokens.slice(0, end))?.id ?? null;
  }

  /** Tokens allowed after the node: its child digits, and END when the node is an ID. */
  allowedTokens(node: TrieNode): number[] {
    const out: number[] = [];
    node.children.forEach((child, d) => {
      if (child) out.push(d);
    });
    if (node.id !== null) out.push(END);
    return out;
  }
}

export type { TrieNode };
