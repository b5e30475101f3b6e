/**
 * Human names for class IDs that are WordNet IDs (ImageNet, Imagenette, Tiny ImageNet folders):
 * the 10 Imagenette classes are bundled (the table of data/samples/README.md); other IDs, and
 * classes that already have a name (COCO categories, your own folders), are shown as they are.
 */
const IMAGENETTE: Record<string, string> = {
  n01440764: 'tench',
  n02102040: 'English springer',
  n02979186: 'cassette player',
  n03000684: 'chain saw',
  n03028079: 'church',
  n03394916: 'French horn',
  n03417042: 'garbage truck',
  n03425413: 'gas pump',
  n03445777: 'golf ball',
  n03888257: 'parachute',
};

export function humanClassName(id: string): string {
  return IMAGENETTE[id] ?? id;
}
