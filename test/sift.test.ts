import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SIFT_PARAMS, describeImage, detectAndDescribe } from '../src/bovw/sift/sift.ts';
import { compareWithOpenCv, FIXTURE_NAMES, loadFixture } from './sift-fixtures.ts';

// Fixtures: OpenCV 4.6 SIFT (python3-opencv) on real Imagenette photos, see scripts/make-sift-fixtures.py.
// Measured when written: 100% of OpenCV keypoints matched within 1 px and 10% size, same counts,
// descriptor cosine > 0.9999. The thresholds leave room for float differences, not for a different algorithm:
// an edge threshold of 12 instead of 10, sigma 1.5 or contrast 0.045 each fail them.
test('the SIFT defaults are OpenCV\'s (Lowe 2004): 3 layers per octave, sigma 1.6, contrast 0.04, edge 10, doubled image', () => {
  assert.deepEqual(DEFAULT_SIFT_PARAMS, { octaveLayers: 3, sigma: 1.6, contrastThreshold: 0.04, edgeThreshold: 10, upsample: true });
});

for (const name of FIXTURE_NAMES) {
  test(`SIFT matches OpenCV on ${name}`, async () => {
    const fixture = await loadFixture(name);
    const ours = detectAndDescribe(fixture.gray);
    const stats = compareWithOpenCv(fixture, ours, 1);
    assert.ok(stats.reference > 0, 'fixture has keypoints');
    assert.ok(stats.recall >= 0.95, `recall of OpenCV keypoints ${stats.recall}`);
    assert.ok(stats.precision >= 0.98, `share of our keypoints that OpenCV also finds ${stats.precision}`);
    assert.ok(Math.abs(stats.ours - stats.reference) <= 1, `keypoint count ${stats.ours} vs OpenCV ${stats.reference}`);
    assert.ok(stats.meanCosine >= 0.99, `descriptor cosine ${stats.meanCosine}`);
    assert.ok(stats.relativeL2 <= 0.05, `descriptor relative L2 ${stats.relativeL2}`);
  });
}

test('descriptors use OpenCV byte scale: whole numbers 0..255, unit vector x 512 before saturation', async () => {
  const fixture = await loadFixture('church-160');
  const { descriptors, keypoints } = detectAndDescribe(fixture.gray);
  assert.equal(descriptors.length, keypoints.length * 128);
  for (const v of descriptors) assert.ok(Number.isInteger(v) && v >= 0 && v <= 255, 'Number.isInteger(v) && v >= 0 && v <= 255');
  const row = descriptors.subarray(0, 128);
  const norm = Math.hypot(...row);
  assert.ok(norm > 400 && norm < 520, `norm ${norm}`);
});

test('a flat image has no keypoints (and no error)', () => {
  const size = 48;
  const pixels = new Uint8Array(size * size * 3).fill(128);
  const features = describeImage(pixels, size);
  assert.equal(features.keypoints.length, 0);
  assert.equal(features.descriptors.length, 0);
});

test('describeImage on RGB equals detectAndDescribe on its BT.601 grey', async () => {
  const fixture = await loadFixture('springer-64');
  const side = fixture.gray.width;
  const rgb = new Uint8Array(side * side * 3);
  fixture.gray.data.forEach((v, i) => rgb.fill(v, i * 3, i * 3 + 3));
  const fromRgb = describeImage(rgb, side);
  const fromGray = detectAndDescribe(fixture.gray);
  assert.deepEqual(fromRgb.keypoints, fromGray.keypoints);
});

test('the OpenCV-wasm blur gives the same keypoints as the JS blur', async () => {
  const { loadOpenCvBlur } = await import('../src/bovw/sift/opencv-blur.ts');
  const blur = await loadOpenCvBlur();
  const fixture = await loadFixture('tench-160');
  const fast = detectAndDescribe(fixture.gray, undefined, blur);
  const stats = compareWithOpenCv(fixture, fast, 1);
  assert.ok(stats.recall >= 0.95 && stats.meanCosine >= 0.99, JSON.stringify(stats));
  assert.equal(fast.keypoints.length, detectAndDescribe(fixture.gray).keypoints.length);
});
