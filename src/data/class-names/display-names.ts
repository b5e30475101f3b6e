import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Human names for classes whose names are WordNet IDs (Tiny ImageNet's ClassLabel names, ImageNet
 * folder copies): "n01443537" -> "goldfish". Only for display (tables, contact sheets); the class
 * name itself stays the ID, so corpora, caches and relevance do not change.
 */

const WNID = /^n\d{8}$/;

let bundled: Record<string, string> | null = null;

/** The bundled table (Tiny ImageNet's 200 classes and Imagenette's 10): WordNet ID -> lemmas. */
export function bundledWordnetNames(): Record<string, string> {
  bundled ??= JSON.parse(readFileSync(new URL('./wordnet-names.json', import.meta.url), 'utf8')) as Record<string, string>;
  return bundled;
}

/** "goldfish, Carassius auratus" -> "goldfish". */
export function firstLemma(lemmas: string): string {
  return lemmas.split(',')[0].trim();
}

/**
 * Display names for `classNames`: a dataset's own table first (its words.txt), then the bundled
 * one; a name that is not a known WordNet ID is shown as it is.
 */
export function displayNamesFor(classNames: readonly string[], own: Record<string, string> = {}): string[] {
  return classNames.map((name) => {
    const lemmas = own[name] ?? (WNID.test(name) ? bundledWordnetNames()[name] : undefined);
    return lemmas ? firstLemma(lemmas) : name;
  });
}

/**
 * A dataset's own `words.txt` (`<wnid>\t<lemmas>` per line, as Tiny ImageNet ships it), looked for
 * in the image root and the folder above it; empty when there is none.
 */
export async function readWordsFile(root: string): Promise<Record<string, string>> {
  for (const path of [join(root, 'words.txt'), join(dirname(root), 'words.txt')]) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      continue;
    }
    const out: Record<string, string> = {};
    for (const line of text.split('\n')) {
      const tab = line.indexOf('\t');
      if (tab > 0) out[line.slice(0, tab).trim()] = line.slice(tab + 1).trim();
    }
    return out;
  }
  return {};
}
