import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
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
  const realRoot = await realpath(root);
  const entries = (await readdir(root, { withFileTypes: true })).sort((a, b) => compareNames(a.name, b.name));
  const items: SourceItem[] = [];
  const skipped: SkippedFile[] = [];
  const digest = createHash('sha256');
  for (const entry of entries) {
    const path = join(root, entry.name);
    if (entry.name.startsWith('.')) continue;
    // Symbolic links are followed (a class folder or a photo linked in from elsewhere is common).
    const kind = await kindOf(path, entry);
    if (kind === 'broken') {
      skipped.push({ source: path, reason: 'broken symbolic link' });
      continue;
    }
    if (kind === 'file' && IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) {
      skipped.push({ source: path, reason: 'image directly under data.root, not in a <class>/ folder' });
      continue;
    }
    if (kind !== 'dir') continue;
    // A class folder linking back to data.root (or above it) would read the root as a class: a loop.
    const real = await realpath(path);
    if (realRoot === real || realRoot.startsWith(real + sep)) {
      skipped.push({ source: path, reason: `symbolic link loop: ${entry.name}/ leads back to data.root` });
      continue;
    }
    const names = (await readdir(path, { withFileTypes: true }))
      // Dot-files are editor/OS debris (macOS writes ._photo.jpg beside photo.jpg), not photos.
      .filter((f) => !f.name.startsWith('.') && IMAGE_EXTENSIONS.has(extname(f.name).toLowerCase()))
      .sort((a, b) => compareNames(a.name, b.name));
    for (const f of names) {
      const file = join(path, f.name);
      const fileKind = await kindOf(file, f);
      if (fileKind === 'broken') {
        skipped.push({ source: file, reason: 'broken symbolic link' });
        continue;
      }
      if (fileKind !== 'file') continue;
      // Name, size and content go into the cache key: adding, removing, replacing or swapping photos rebuilds.
      digest.update(`${entry.name}/${f.name}\t${await contentFingerprint(file)}\n`);
      items.push({ source: file, classes: [entry.name], captions: [], read: () => readFile(file) });
    }
  }
  if (items.length === 0) {
    throw new UserError(`data.root=${root} holds no images in <class>/ folders (expected <root>/<class>/<image>.jpg)`);
  }
  return { identity: `folder:${root}#${digest.digest('hex').slice(0, 16)}`, items, skipped, classWords: await readWordsFile(root) };
}

type EntryKind = 'file' | 'dir' | 'broken' | 'other';

async function kindOf(path: string, entry: Dirent): Promise<EntryKind> {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'dir';
  if (!entry.isSymbolicLink()) return 'other';
  try {
    const s = await stat(path); // follows the link
    return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : 'other';
  } catch {
    return 'broken';
  }
}

/** Bytes read per file for the key: whole files up to twice this, else the head and the tail. */
const FINGERPRINT_SPAN = 32 * 1024;

/**
 * A cheap content key: size + sha256 of the whole file when small (photos at corpus sizes are
 * tens of KB), of its first and last 32 KB otherwise (where two different photos always differ:
 * entropy-coded data starts in the first KB and runs to the end). Two same-size photos swapped
 * between classes change the key.
 */
async function contentFingerprint(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const h = createHash('sha256');
    if (size <= 2 * FINGERPRINT_SPAN) {
      h.update(await fh.readFile());
    } else {
      const buf = Buffer.alloc(FINGERPRINT_SPAN);
      await fh.read(buf, 0, FINGERPRINT_SPAN, 0);
      h.update(buf);
      await fh.read(buf, 0, FINGERPRINT_SPAN, size - FINGERPRINT_SPAN);
      h.update(buf);
    }
    return `${size}\t${h.digest('hex').slice(0, 16)}`;
  } finally {
    await fh.close();
  }
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
