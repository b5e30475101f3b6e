import type { SkippedFile } from '../types.ts';

/**
 * What every data source (hub, coco, folder) hands to the corpus builder: a list of candidate
 * images in the source's natural order (the reference takes "the first" images of each class),
 * each able to produce its encoded bytes on demand.
 */
export interface SourceItem {
  /** Stable identity for the manifest: a file path, `hub:<repo>@<revision>/<config>/<split>#<row>`, a COCO file name. */
  source: string;
  /** Class names, primary first (COCO: object categories by total area, largest first). */
  classes: string[];
  /** COCO captions; empty elsewhere. */
  captions: string[];
  /** Pixel size when known without decoding (COCO annotations, parquet metadata); otherwise read from the header. */
  width?: number;
  height?: number;
  /** The encoded image (JPEG, PNG, ...): reads a file, a parquet cell, or downloads it into the cache. */
  read(): Promise<Uint8Array>;
}

export interface ImageSource {
  /** Goes into the cache key: repo + resolved revision + config + split, or root path + listing digest. */
  identity: string;
  items: SourceItem[];
  /** Entries that could not be used before decoding (unreadable annotations rows, missing files...). */
  skipped: SkippedFile[];
  /**
   * COCO / ImageNet-1k rule: square images first, then those within data.aspect_tolerance, the rest
   * dropped. Off (absent) for datasets of fixed-size images (Imagenette, Tiny ImageNet, folders),
   * which are centre-cropped whatever their aspect.
   */
  aspectSelection?: boolean;
  /**
   * COCO rule: an image belongs to every class it shows; the first num_images images showing any
   * kept class are taken (instead of min_images_per_class images from each kept class).
   */
  multiLabel?: boolean;
  /**
   * The dataset's own class-name table (class name -> lemmas, e.g. Tiny ImageNet's words.txt), for
   * display names; WordNet IDs without one are looked up in the bundled table.
   */
  classWords?: Record<string, string>;
}
