import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { DataConfig } from '../../config/sections/data.ts';
import { UserError } from '../../runtime/errors.ts';
import type { SkippedFile } from '../types.ts';
import type { ImageSource, SourceItem } from './types.ts';
import { resolveDataRoot } from './root.ts';
import { readWordsFile } from '../class-names/display-names.ts';

/** Extensions sharp decodes; anything else in a class folder (READMEs, .DS_Store) is not a candidate. */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif', '.heic', '.heif']);

/**
 * ImageFolder layout: `<root>/<class>/<image>`. The class of an image is its folder's name;
 * folders and files are taken in code-point name order, so "the first images of a class" are
 * the same on every machine.
 */
export async function openFolderSource(data: DataConfig): Promise<ImageSource> {
  const root = resolveDataRoot(data.root, 'folder');
  const entries = (await readdir(root, { withFileTypes: true })).sort((a, b) => compareNames(a.name, b.name));
  const items: SourceItem[] = [];
  const skipped: SkippedFile[] = [];
  const digest = createHash('sha256');
  for (const entry of entries) {
    const path = join(root, entry.name);
    if (entry.isFile() && IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) {
      skipped.push({ source: path, reason: 'image directly under data.root, not in a <class>/ folder' });
      continue;
    }
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const files = (await readdir(path, { withFileTypes: true }))
      // Dot-files are editor/OS debris (macOS writes ._photo.jpg beside photo.jpg), not photos.
      .filter((f) => f.isFile() && !f.name.startsWith('.') && IMAGE_EXTENSIONS.has(extname(f.name).toLowerCase()))
      .map((f) => f.name)
      .sort(compareNames);
    for (const name of files) {
      const file = join(path, name);
      // Names and sizes go into the cache key: adding, removing or replacing a photo rebuilds.
      const { size } = await stat(file);
      digest.update(`${entry.name}/${name}\t${size}\n`);
      items.push({ source: file, classes: [entry.name], captions: [], read: () => readFile(file) });
    }
  }
  if (items.length === 0) {
    throw new UserError(`data.root=${root} holds no images in <class>/ folders (expected <root>/<class>/<image>.jpg)`);
  }
  return { identity: `folder:${root}#${digest.digest('hex').slice(0, 16)}`, items, skipped, classWords: await readWordsFile(root) };
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
