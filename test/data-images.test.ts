import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodeToSquareRgb, ImageRejected, withinAspectTolerance } from '../src/data/images.ts';
import { imagenettePhoto } from './data-fixtures.ts';

const SIZE = 32;

async function rejection(bytes: Uint8Array, tolerance: number | null = null): Promise<string> {
  try {
    await decodeToSquareRgb(bytes, { size: SIZE, aspectTolerance: tolerance });
  } catch (err) {
    assert.ok(err instanceof ImageRejected, `expected ImageRejected, got ${err}`);
    return err.reason;
  }
  assert.fail('the image was accepted');
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

test('a real JPEG becomes size x size x 3 RGB, and a smaller copy of it looks the same', async () => {
  const photo = await imagenettePhoto();
  const rgb = await decodeToSquareRgb(photo, { size: SIZE });
  assert.equal(rgb.length, SIZE * SIZE * 3);
  const png = await sharp(photo).resize(100, 100).png().toBuffer();
  assert.ok(meanAbsDiff(rgb, await decodeToSquareRgb(png, { size: SIZE })) < 6, 'meanAbsDiff(rgb, await decodeToSquareRgb(png, { size: SIZE })) < 6');
  // Not a constant image: a decoder that returned zeros would fail here.
  assert.ok(new Set(rgb).size > 50, 'new Set(rgb).size > 50');
});

test('greyscale, CMYK and 16-bit files decode to RGB close to the original', async () => {
  const photo = await imagenettePhoto('n03028079', 3);
  const reference = await decodeToSquareRgb(photo, { size: SIZE });

  const grey = await decodeToSquareRgb(await sharp(photo).greyscale().jpeg().toBuffer(), { size: SIZE });
  for (let p = 0; p < SIZE * SIZE; p++) {
    assert.equal(grey[p * 3], grey[p * 3 + 1]);
    assert.equal(grey[p * 3], grey[p * 3 + 2]);
  }

  const cmykJpeg = await sharp(photo).toColourspace('cmyk').jpeg().toBuffer();
  assert.equal((await sharp(cmykJpeg).metadata()).space, 'cmyk');
  assert.ok(meanAbsDiff(reference, await decodeToSquareRgb(cmykJpeg, { size: SIZE })) < 15, 'meanAbsDiff(reference, await decodeToSquareRgb(cmykJpeg, { size: SIZE })) < 15');

  const png16 = await sharp(photo).toColourspace('rgb16').png().toBuffer();
  assert.equal((await sharp(png16).metadata()).depth, 'ushort');
  assert.ok(meanAbsDiff(reference, await decodeToSquareRgb(png16, { size: SIZE })) < 6, 'meanAbsDiff(reference, await decodeToSquareRgb(png16, { size: SIZE })) < 6');
});

test('transparent pixels of a PNG with alpha become white', async () => {
  const photo = await imagenettePhoto('n03445777', 1);
  const { data, info } = await sharp(photo).resize(64, 64).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  for (let y = 0; y < 32; y++) for (let x = 0; x < 64; x++) data[(y * 64 + x) * 4 + 3] = 0; // top half transparent
  const png = await sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } }).png().toBuffer();
  const rgb = await decodeToSquareRgb(png, { size: SIZE });
  assert.deepEqual([...rgb.subarray(0, 3)], [255, 255, 255]);
  const bottom = rgb.subarray((SIZE - 1) * SIZE * 3);
  assert.ok(bottom.some((v) => v < 240), 'the opaque half keeps the photo');
});

test('EXIF orientation is applied', async () => {
  const photo = await sharp(await imagenettePhoto('n02102040', 2)).resize(64, 64).jpeg().toBuffer();
  // Orientation 6: the viewer must rotate 90 degrees clockwise.
  const tagged = await sharp(photo).withMetadata({ orientation: 6 }).jpeg().toBuffer();
  const rotated = await sharp(photo).rotate(90).jpeg().toBuffer();
  const fromTagged = await decodeToSquareRgb(tagged, { size: SIZE });
  assert.ok(meanAbsDiff(fromTagged, await decodeToSquareRgb(rotated, { size: SIZE })) < 6, 'meanAbsDiff(fromTagged, await decodeToSquareRgb(rotated, { size: SIZE })) < 6');
  assert.ok(meanAbsDiff(fromTagged, await decodeToSquareRgb(photo, { size: SIZE })) > 15, 'rotation changed the image');
});

test('non-square images are centre-cropped, or rejected outside the aspect tolerance', async () => {
  const photo = await imagenettePhoto('n03888257', 0);
  const wide = await sharp(photo).resize(224, 112, { fit: 'fill' }).png().toBuffer();
  const rgb = await decodeToSquareRgb(wide, { size: SIZE });
  // The centre crop is the middle 112x112 of the stretched photo.
  const centre = await sharp(wide).extract({ left: 56, top: 0, width: 112, height: 112 }).png().toBuffer();
  assert.ok(meanAbsDiff(rgb, await decodeToSquareRgb(centre, { size: SIZE })) < 4, 'meanAbsDiff(rgb, await decodeToSquareRgb(centre, { size: SIZE })) < 4');
  assert.match(await rejection(wide, 0.1), /aspect 224x112 deviates 1\.000 .*aspect_tolerance=0\.1/);
  assert.ok(withinAspectTolerance(110, 100, 0.1), 'withinAspectTolerance(110, 100, 0.1)');
  assert.ok(!withinAspectTolerance(112, 100, 0.1), '!withinAspectTolerance(112, 100, 0.1)');
  assert.ok(withinAspectTolerance(640, 480, 0.4) && withinAspectTolerance(480, 640, 0.4), 'withinAspectTolerance(640, 480, 0.4) && withinAspectTolerance(480, 640, 0.4)');
});

test('truncated, empty, non-image and tiny files are rejected with a reason, never a crash', async () => {
  const photo = await imagenettePhoto();
  assert.match(await rejection(photo.subarray(0, Math.floor(photo.length / 2))), /decode|readable/);
  assert.match(await rejection(new Uint8Array(0)), /empty file/);
  assert.match(await rejection(new TextEncoder().encode('<html>not found</html>')), /not a readable image/);
  const tiny = await sharp(photo).resize(8, 8).png().toBuffer();
  assert.match(await rejection(tiny), /too small: 8x8 px/);
});

test('SVG text named .jpg is refused as a photo (sharp would render it): raster photo formats only', async () => {
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>');
  await assert.rejects(decodeToSquareRgb(svg, { size: SIZE }), (e: unknown) => e instanceof ImageRejected && /not a raster photo: the file is SVG/.test(e.reason));
});
