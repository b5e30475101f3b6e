import { createRequire } from 'node:module';
import type { GrayImage } from './filters.ts';

/**
 * OpenCV's own GaussianBlur via opencv-wasm: 5-10x faster than our JS separable blur on 320x320
 * float images (measured: ~3.5 ms vs ~15-40 ms per layer) and equal to it within 1e-4 levels, so
 * keypoints do not change. The module is ~7 MB of wasm (~0.3 s to start): loaded once, lazily.
 */
type Blur = (src: GrayImage, sigma: number) => GrayImage;

// Minimal typing of the parts of opencv.js we use (its bundled .d.ts does not resolve under NodeNext).
interface CvMat { data32F: Float32Array; delete(): void }
interface Cv {
  Mat: new (rows: number, cols: number, type: number) => CvMat;
  Size: new (width: number, height: number) => unknown;
  CV_32F: number;
  BORDER_REFLECT_101: number;
  GaussianBlur(src: CvMat, dst: CvMat, ksize: unknown, sx: number, sy: number, border: number): void;
  onRuntimeInitialized?: () => void;
}

let loading: Promise<Blur> | null = null;

/** Resolves to OpenCV's blur once the wasm module is ready (loading it at most once per process). */
export function loadOpenCvBlur(): Promise<Blur> {
  loading ??= new Promise<Blur>((resolve, reject) => {
    try {
      const require = createRequire(import.meta.url);
      const cv = (require('opencv-wasm') as { cv: Cv }).cv;
      // The module object is a thenable (Emscripten): never resolve a promise with `cv` itself.
      const ready = () => resolve(makeBlur(cv));
      if (typeof cv.Mat === 'function') ready();
      else cv.onRuntimeInitialized = ready;
    } catch (error) {
      reject(error);
    }
  });
  return loading;
}

function makeBlur(cv: Cv): Blur {
  const noKernelSize = new cv.Size(0, 0);
  return (src, sigma) => {
    const input = new cv.Mat(src.height, src.width, cv.CV_32F);
    const output = new cv.Mat(src.height, src.width, cv.CV_32F);
    try {
      input.data32F.set(src.data);
      // Size(0,0): OpenCV derives the kernel size from sigma, as SIFT does.
      cv.GaussianBlur(input, output, noKernelSize, sigma, sigma, cv.BORDER_REFLECT_101);
      return { width: src.width, height: src.height, data: output.data32F.slice() };
    } finally {
      input.delete();
      output.delete();
    }
  };
}
