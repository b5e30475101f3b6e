/**
 * Prefix tree of the IDs that exist, over their decimal digits. Beam search asks it which tokens
 * may follow a prefix, so every finished hypothesis is an indexed image. A node can be both an
 * ID and a prefix of longer IDs ("7" and "70"), which is why END and digits can both be allowed.
 */
import { END, idToDigits } from '../data/ids.ts';

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

  constructor(ids: Iterable<number>) {
    let size = 0;
    let maxDigits = 0;
    for (const id of ids) {
      const digits = idToDigits(id);
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
    return Number.isInteger(id) && id >= 0 && this.walk(idToDigits(id))?.id === id;
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
