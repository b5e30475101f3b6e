import sharp from 'sharp';

/**
 * Image decoding for the corpus: any format sharp reads (JPEG, PNG, WebP, TIFF, GIF, AVIF...),
 * greyscale, CMYK, alpha, 16-bit or EXIF-rotated, becomes a square RGB uint8 image of one size.
 */

/** Shorter sides below this are not photos worth training on (thumbnails, icons, 1x1 trackers). */
export const MIN_IMAGE_SIDE = 16;

// libvips' own thread pool: the corpus builder runs two images at a time, and the machines this
// runs on have few cores, so one vips thread per image keeps the box responsive.
sharp.concurrency(1);

/** Formats whose pixels are a photograph's; the extension of a file is not trusted, its content is. */
export const RASTER_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'tiff', 'gif', 'avif', 'heif']);

/** A file that cannot become a corpus image; `reason` goes into the manifest's skipped list. */
export class ImageRejected extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ImageRejected';
  }
}

/** |width/height - 1|: 0 for a square, 0.333 for 4:3, 0.25 for 3:4 (the reference's measure). */
export function aspectDeviation(width: number, height: number): number {
  return Math.abs(width / height - 1);
}

/** The reference's aspect rule: a tolerance of 0.1 accepts 0.9..1.1. */
export function withinAspectTolerance(width: number, height: number, tolerance: number): boolean {
  // A hair of slack so that e.g. 110x100 with tolerance 0.1 is not lost to 1.1000000000000001.
  return aspectDeviation(width, height) <= tolerance + 1e-9;
}

export interface DecodeOptions {
  /** Side of the square output. */
  size: number;
  /** When set, images whose (oriented) aspect deviates more than this are rejected. */
  aspectTolerance?: number | null;
}

/**
 * Decodes `bytes` to `size` x `size` x 3 RGB uint8 (row-major): orient by EXIF, flatten alpha on
 * white, convert any colour space to sRGB 8-bit, centre-crop to a square, resize.
 * Throws `ImageRejected` (never anything else) for corrupt, truncated, tiny or too-wide images.
 */
export async function decodeToSquareRgb(bytes: Uint8Array, opts: DecodeOptions): Promise<Uint8Array> {
  if (bytes.length === 0) throw new ImageRejected('empty file');
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    // failOn 'error': a truncated JPEG must be rejected, not silently padded with grey.
    meta = await sharp(bytes, { failOn: 'error' }).metadata();
  } catch (err) {
    throw new ImageRejected(`not a readable image (${shortReason(err)})`);
  }
  // sharp also renders SVG, PDF and others; a photo corpus takes raster photo formats only.
  if (!RASTER_FORMATS.has(String(meta.format))) {
    throw new ImageRejected(`not a raster photo: the file is ${String(meta.format).toUpperCase()} (accepted: ${[...RASTER_FORMATS].join(', ')})`);
  }
  if (!meta.width || !meta.height) throw new ImageRejected('image has no size');
  // EXIF orientations 5-8 swap width and height.
  const swap = (meta.orientation ?? 1) >= 5;
  const width = swap ? meta.height : meta.width;
  const height = swap ? meta.width : meta.height;
  if (Math.min(width, height) < MIN_IMAGE_SIDE) {
    throw new ImageRejected(`too small: ${width}x${height} px (shorter side < ${MIN_IMAGE_SIDE} px)`);
  }
  const tolerance = opts.aspectTolerance;
  if (tolerance !== undefined && tolerance !== null && !withinAspectTolerance(width, height, tolerance)) {
    throw new ImageRejected(
      `aspect ${width}x${height} deviates ${aspectDeviation(width, height).toFixed(3)} from square (> data.aspect_tolerance=${tolerance})`,
    );
  }
  try {
    const { data, info } = await sharp(bytes, { failOn: 'error' })
      .rotate() // EXIF auto-orientation
      .flatten({ background: { r: 255, g: 255, b: 255 } }) // alpha -> white; no-op without alpha
      .toColourspace('srgb') // CMYK (via its ICC profile), greyscale, 16-bit -> 8-bit sRGB
      .resize(opts.size, opts.size, { fit: 'cover', position: 'centre' })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return toRgb(data, info.channels, opts.size);
  } catch (err) {
    throw new ImageRejected(`cannot decode (${shortReason(err)})`);
  }
}

/** sharp normally hands back 3 channels here; this guards the greyscale/alpha cases it may not. */
function toRgb(data: Buffer, channels: number, size: number): Uint8Array {
  const pixels = size * size;
  if (channels === 3 && data.length === pixels * 3) return new Uint8Array(data.buffer, data.byteOffset, data.length);
  if (data.length !== pixels * channels) throw new ImageRejected(`unexpected decoder output (${channels} channels)`);
  const out = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const grey = channels <= 2;
    out[p * 3] = data[p * channels];
    out[p * 3 + 1] = data[p * channels + (grey ? 0 : 1)];
    out[p * 3 + 2] = data[p * channels + (grey ? 0 : 2)];
  }
  return out;
}

/** libvips messages run to several lines; the manifest wants the first one. */
function shortReason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0].trim().slice(0, 160);
}
