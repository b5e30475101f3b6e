/**
 * Where the tests find real images. Everything the default suite needs ships with the repo:
 * data/samples (400 real Imagenette photos, 64 px, the embedded default dataset) and
 * test/fixtures/ (a small COCO set with its annotations). Tests that need more real data than a
 * repository should carry read it from the folder named by DSI_TEST_DATA (laid out like the
 * development machines' shared data folder: imagenette-224/, coco128/, ...); without it they are
 * skipped with one line that names the variable. `.ci/run` sets it when that folder exists.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/load.ts';

/** Real Imagenette photos in ImageFolder layout (<wordnet id>/<file>.jpg), 40 per class, 64x64. */
export const SAMPLE_PHOTOS = join(PROJECT_ROOT, 'data', 'samples');

/** The sample photos' class folders (wordnet ids), sorted; README.md beside them is not a class. */
export function sampleClasses(): string[] {
  return readdirSync(SAMPLE_PHOTOS, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}

/** Real COCO val2017 photos (downscaled) with their instances and captions entries. */
export const COCO_FIXTURE = join(PROJECT_ROOT, 'test', 'fixtures', 'coco-mini');

export const TEST_DATA_VARIABLE = 'DSI_TEST_DATA';

/**
 * The folder `sub` of DSI_TEST_DATA, or a skip reason for node:test's `{ skip }` option when the
 * variable is unset or the folder is missing. Usage: `const d = testData('coco128');
 * test('...', { skip: d.skip }, () => use(d.path))`.
 */
export function testData(sub: string): { path: string; skip: string | false } {
  const root = process.env[TEST_DATA_VARIABLE];
  if (!root) return { path: '', skip: `needs real data: set ${TEST_DATA_VARIABLE} to a folder holding ${sub}/` };
  const path = resolve(root, sub);
  if (!existsSync(path)) return { path: '', skip: `needs real data: ${TEST_DATA_VARIABLE}=${root} has no ${sub}/` };
  return { path, skip: false };
}
