import { descriptorWorkspace, DESCRIPTOR_SIZE, writeDescriptor } from './descriptor.ts';
import { findExtrema } from './extrema.ts';
import { gaussianBlur, rgbToGray, type GrayImage } from './filters.ts';
import { dominantOrientations } from './orientation.ts';
import { loadOpenCvBlur } from './opencv-blur.ts';
import { buildScaleSpace, DEFAULT_SIFT_PARAMS, type BlurFn, type SiftParams } from './scale-space.ts';

export { DESCRIPTOR_SIZE } from './descriptor.ts';
export { DEFAULT_SIFT_PARAMS, type SiftParams } from './scale-space.ts';
export { rgbToGray, type GrayImage } from './filters.ts';

/** A keypoint in input-image pixels, with OpenCV's KeyPoint meaning for each field. */
export interface SiftKeypoint {
  x: number;
  y: number;
  /** Diameter of the meaningful neighbourhood (2 x sigma of the keypoint's scale). */
  size: number;
  /** Degrees in [0, 360), clockwise in image coordinates (OpenCV convention). */
  angle: number;
  response: number;
  /** Octave index in input-image terms (-1 = the doubled image). */
  octave: number;
}

/** Keypoints and their descriptors (row k of `descriptors` belongs to keypoint k), values 0..255. */
export interface SiftFeatures {
  keypoints: SiftKeypoint[];
  /** keypoints.length x 128, row-major. */
  descriptors: Float32Array;
}

/** SIFT (Lowe 2004) on a greyscale image with intensities 0..255, following OpenCV's implementation. */
export function detectAndDescribe(gray: GrayImage, params: SiftParams = DEFAULT_SIFT_PARAMS, blur: BlurFn = gaussianBlur): SiftFeatures {
  const space = buildScaleSpace(gray, params, blur);
  const extrema = findExtrema(space, params);
  const s = params.octaveLayers;
  const keypoints: SiftKeypoint[] = [];
  const sources: { image: GrayImage; x: number; y: number; orientation: number; scale: number }[] = [];
  const seen = new Set<number>();
  for (const e of extrema) {
    const octaveScale = Math.pow(2, e.octave + space.firstOctave);
    // Sigma of the keypoint in its octave's pixels (sigma 2^((layer + ds)/s)).
    const scale = params.sigma * Math.pow(2, (e.layer + e.ds) / s);
    const image = space.gaussians[e.octave][e.layer];
    const x = e.col + e.dx;
    const y = e.row + e.dy;
    // Two candidates can converge on the same sample; refinement then gives identical keypoints,
    // which OpenCV removes as duplicates. Keep the first.
    // Unique per (octave, layer, row, col): 6 + 4 + 16 + 16 bits, exact in a double.
    const key = ((e.octave * 16 + e.layer) * 65536 + e.row) * 65536 + e.col;
    if (seen.has(key)) continue;
    seen.add(key);
    for (const angle of dominantOrientations(image, e.col, e.row, scale)) {
      keypoints.push({
        x: x * octaveScale,
        y: y * octaveScale,
        size: scale * 2 * octaveScale,
        angle,
        response: e.response,
        octave: e.octave + space.firstOctave,
      });
      const orientation = 360 - angle;
      sources.push({ image, x, y, orientation: Math.abs(orientation - 360) < 1.2e-7 ? 0 : orientation, scale });
    }
  }
  const descriptors = new Float32Array(keypoints.length * DESCRIPTOR_SIZE);
  const work = descriptorWorkspace();
  sources.forEach((src, k) => {
    writeDescriptor(src.image, src.x, src.y, src.orientation, src.scale, descriptors, k * DESCRIPTOR_SIZE, work);
  });
  return { keypoints, descriptors };
}

/** SIFT features of one RGB uint8 image (imageSize x imageSize x 3), as stored in a `Corpus`. */
export function describeImage(
  pixels: Uint8Array, imageSize: number, params: SiftParams = DEFAULT_SIFT_PARAMS, blur: BlurFn = gaussianBlur,
): SiftFeatures {
  return detectAndDescribe(rgbToGray(pixels, imageSize, imageSize), params, blur);
}

export type DescribeFn = (pixels: Uint8Array, imageSize: number) => SiftFeatures;

/**
 * `describeImage` with OpenCV's wasm blur (the bulk of SIFT's time); falls back to the JS blur,
 * same results, if the wasm module cannot load. Use this for many images.
 */
export async function loadFastDescriber(params: SiftParams = DEFAULT_SIFT_PARAMS): Promise<DescribeFn> {
  const blur = await loadOpenCvBlur().catch((error: unknown) => {
    process.stderr.write(`SIFT: opencv-wasm unavailable (${String(error)}); using the slower JS blur\n`);
    return gaussianBlur;
  });
  return (pixels, imageSize) => describeImage(pixels, imageSize, params, blur);
}
