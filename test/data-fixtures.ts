/**
 * Real images for the data tests, derived from ../shared/data photos into temp folders
 * (the shared folder is read-only). Not a test file itself.
 */
import { mkdtempSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../src/config/load.ts';

export const SHARED_DATA = resolve(PROJECT_ROOT, '..', 'shared', 'data');
export const IMAGENETTE = join(SHARED_DATA, 'imagenette-224', 'train');
export const COCO_MINI = join(SHARED_DATA, 'coco-mini');
export const COCO128 = join(SHARED_DATA, 'coco128');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `dsi-${prefix}-`));
}

/** The first `count` file names (sorted) of an Imagenette class. */
export async function imagenetteFiles(wnid: string, count: number): Promise<string[]> {
  return (await readdir(join(IMAGENETTE, wnid))).sort().slice(0, count);
}

export async function imagenettePhoto(wnid = 'n01440764', index = 0): Promise<Buffer> {
  const [name] = (await imagenetteFiles(wnid, index + 1)).slice(index);
  return readFile(join(IMAGENETTE, wnid, name));
}

/** An ImageFolder copy: `perClass` real photos of each class, same names. */
export async function copyImageFolder(dest: string, classes: Record<string, number>): Promise<void> {
  for (const [wnid, count] of Object.entries(classes)) {
    await mkdir(join(dest, wnid), { recursive: true });
    for (const name of await imagenetteFiles(wnid, count)) await copyFile(join(IMAGENETTE, wnid, name), join(dest, wnid, name));
  }
}
