/**
 * Real images for the data tests (the repo's own, see helpers/test-data.ts), copied or derived
 * into temp folders so the originals are never written. Not a test file itself.
 */
import { mkdtempSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COCO_FIXTURE, SAMPLE_PHOTOS } from './helpers/test-data.ts';

export const IMAGENETTE = SAMPLE_PHOTOS;
export const COCO_MINI = COCO_FIXTURE;

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
