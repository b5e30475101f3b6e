import { UserError } from '../runtime/errors.ts';
import { aspectDeviation, withinAspectTolerance } from './images.ts';

/**
 * Which images and classes make the corpus, exactly as the reference selects them (REFERENCE.md,
 * "Selection rules"), decided from the listing alone so that only the chosen images are decoded.
 */

/** What selection needs to know about a candidate image. */
export interface Candidate {
  /** Primary first (COCO: categories by total area, largest first). */
  classes: string[];
  width?: number;
  height?: number;
}

export interface SelectionRules {
  numImages: number;
  minImagesPerClass: number;
  aspectTolerance: number;
  /** Square images first, then those within the tolerance; the rest dropped (COCO, ImageNet-1k). */
  aspectSelection: boolean;
  /** COCO: an image counts for every class it shows; the first numImages images showing a kept class are taken. */
  multiLabel: boolean;
}

/** Decode `quota` images from `candidates`, in order; a failure is replaced by the next candidate. */
export interface SelectionGroup<T> {
  quota: number;
  candidates: T[];
}

export interface SelectionPlan<T> {
  /** Kept classes, largest first (ties: first seen first). */
  classNames: string[];
  groups: SelectionGroup<T>[];
  /** Candidates dropped by the aspect rule before anything was decoded. */
  droppedByAspect: number;
  /** Image count per class over the eligible candidates, for messages and the manifest. */
  classSizes: Record<string, number>;
}

/**
 * Square images first, then the others within `tolerance`, each pass in listing order. Images of
 * unknown size go last in the second pass; their aspect is checked when they are decoded.
 */
export function orderByAspect<T extends Candidate>(items: readonly T[], tolerance: number): { ordered: T[]; dropped: number } {
  const square: T[] = [];
  const near: T[] = [];
  const unknown: T[] = [];
  let dropped = 0;
  for (const item of items) {
    if (!item.width || !item.height) unknown.push(item);
    else if (aspectDeviation(item.width, item.height) === 0) square.push(item);
    else if (withinAspectTolerance(item.width, item.height, tolerance)) near.push(item);
    else dropped++;
  }
  return { ordered: [...square, ...near, ...unknown], dropped };
}

/** Classes with at least `minImages` images, largest first, the first `count` of them. */
export function keptClasses(sizes: Map<string, number>, minImages: number, count: number): string[] {
  // Map iteration order is first-seen order, and Array.sort is stable: ties keep listing order.
  return [...sizes.entries()]
    .filter(([, n]) => n >= minImages)
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name]) => name);
}

export function planSelection<T extends Candidate>(items: readonly T[], rules: SelectionRules): SelectionPlan<T> {
  const { ordered, dropped } = rules.aspectSelection
    ? orderByAspect(items, rules.aspectTolerance)
    : { ordered: [...items], dropped: 0 };
  const sizes = new Map<string, number>();
  for (const item of ordered) {
    const counted = rules.multiLabel ? new Set(item.classes) : item.classes.slice(0, 1);
    for (const c of counted) sizes.set(c, (sizes.get(c) ?? 0) + 1);
  }
  const classCount = Math.ceil(rules.numImages / rules.minImagesPerClass);
  const classNames = keptClasses(sizes, rules.minImagesPerClass, classCount);
  if (classNames.length === 0) {
    const largest = [...sizes.entries()].sort((a, b) => b[1] - a[1])[0];
    throw new UserError(
      `no class has data.min_images_per_class=${rules.minImagesPerClass} images` +
        (largest ? ` (largest: "${largest[0]}" with ${largest[1]})` : ' (no eligible images at all)') +
        (dropped > 0 ? `; ${dropped} images were outside data.aspect_tolerance=${rules.aspectTolerance}` : '') +
        ': lower data.min_images_per_class' +
        (dropped > 0 ? ', raise data.aspect_tolerance (e.g. 0.4 keeps most 4:3 photos)' : '') +
        ' or point data.root at more images',
    );
  }
  const classSizes = Object.fromEntries(sizes);
  if (rules.multiLabel) {
    const kept = new Set(classNames);
    const candidates = ordered.filter((item) => item.classes.some((c) => kept.has(c)));
    return { classNames, groups: [{ quota: rules.numImages, candidates }], droppedByAspect: dropped, classSizes };
  }
  // Single label: the first min_images_per_class images of each kept class, in class order,
  // until exactly numImages in total (the last class may get fewer).
  const byClass = new Map<string, T[]>(classNames.map((c) => [c, []]));
  for (const item of ordered) byClass.get(item.classes[0])?.push(item);
  const groups: SelectionGroup<T>[] = [];
  let remaining = rules.numImages;
  for (const name of classNames) {
    if (remaining <= 0) break;
    const quota = Math.min(rules.minImagesPerClass, remaining);
    groups.push({ quota, candidates: byClass.get(name)! });
    remaining -= quota;
  }
  return { classNames, groups, droppedByAspect: dropped, classSizes };
}
