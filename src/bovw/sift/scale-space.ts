import { downsample2x, gaussianBlur, upsample2x, type GrayImage } from './filters.ts';

/** OpenCV's SIFT defaults (Lowe 2004): the tests compare against OpenCV with these values. */
export interface SiftParams {
  /** Scales sampled per octave (s in Lowe's paper). */
  octaveLayers: number;
  /** Blur of the base image of each octave. */
  sigma: number;
  /** DoG contrast threshold on [0,1] intensities, divided by octaveLayers as OpenCV does. */
  contrastThreshold: number;
  /** Ratio of principal curvatures above which an extremum is an edge and dropped. */
  edgeThreshold: number;
  /** Double the input first (OpenCV default): more and finer keypoints on small images. */
  upsample: boolean;
}

export const DEFAULT_SIFT_PARAMS: SiftParams = {
  octaveLayers: 3,
  sigma: 1.6,
  contrastThreshold: 0.04,
  edgeThreshold: 10,
  upsample: true,
};

/** Blur assumed already present in a camera image (Lowe's 0.5 px). */
const INITIAL_SIGMA = 0.5;

/**
 * Gaussian and difference-of-Gaussian pyramids. `gaussians[o][i]` has blur sigma * 2^(i/s) relative
 * to octave o's sampling; `dogs[o][i] = gaussians[o][i+1] - gaussians[o][i]`.
 */
export interface ScaleSpace {
  gaussians: GrayImage[][];
  dogs: GrayImage[][];
  /** -1 when the input was doubled: octave o has pixel size 2^(o + firstOctave) in input pixels. */
  firstOctave: number;
}

/** Incremental blurs between consecutive layers, so each layer is one blur of the previous one. */
export function layerSigmas(params: SiftParams): number[] {
  const { octaveLayers: s, sigma } = params;
  const k = Math.pow(2, 1 / s);
  const sigmas = [sigma];
  for (let i = 1; i < s + 3; i++) {
    const previous = Math.pow(k, i - 1) * sigma;
    const total = previous * k;
    sigmas.push(Math.sqrt(total * total - previous * previous));
  }
  return sigmas;
}

/** A Gaussian blur with OpenCV's kernel size and border rule (JS `gaussianBlur`, or OpenCV's own). */
export type BlurFn = (src: GrayImage, sigma: number) => GrayImage;

export function buildScaleSpace(gray: GrayImage, params: SiftParams = DEFAULT_SIFT_PARAMS, blur: BlurFn = gaussianBlur): ScaleSpace {
  const firstOctave = params.upsample ? -1 : 0;
  let base = params.upsample ? upsample2x(gray) : gray;
  // The doubled image already carries 2 * 0.5 px of blur; add just enough to reach sigma.
  const present = params.upsample ? INITIAL_SIGMA * 2 : INITIAL_SIGMA;
  base = blur(base, Math.sqrt(Math.max(params.sigma ** 2 - present ** 2, 0.01)));

  const octaves = Math.max(
    1,
    Math.round(Math.log2(Math.min(base.width, base.height)) - 2) - firstOctave,
  );
  const sigmas = layerSigmas(params);
  const layers = params.octaveLayers + 3;
  const gaussians: GrayImage[][] = [];
  for (let o = 0; o < octaves; o++) {
    const octave: GrayImage[] = [];
    // Layer s of the previous octave has exactly twice the base blur: subsample it, no new blur.
    octave.push(o === 0 ? base : downsample2x(gaussians[o - 1][params.octaveLayers]));
    for (let i = 1; i < layers; i++) octave.push(blur(octave[i - 1], sigmas[i]));
    gaussians.push(octave);
    if (octave[0].width < 2 || octave[0].height < 2) break;
  }
  const dogs = gaussians.map((octave) => {
    const out: GrayImage[] = [];
    for (let i = 0; i + 1 < octave.length; i++) {
      const a = octave[i].data;
      const b = octave[i + 1].data;
      const d = new Float32Array(a.length);
      for (let p = 0; p < a.length; p++) d[p] = b[p] - a[p];
      out.push({ width: octave[i].width, height: octave[i].height, data: d });
    }
    return out;
  });
  return { gaussians, dogs, firstOctave };
}
