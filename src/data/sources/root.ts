import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../config/load.ts';
import { UserError } from '../../runtime/errors.ts';

/**
 * `data.root` as the user meant it: an absolute path as is; a relative one against the current
 * directory first, then the project root (so configs/quickstart.yaml's `root: data/samples`
 * works from any directory). A root that exists nowhere is a UserError naming both places.
 */
export function resolveDataRoot(root: string | null, source: string): string {
  if (!root) throw new UserError(`data.root is required when data.source=${source}: pass --set data.root=PATH`);
  const candidates = isAbsolute(root) ? [root] : [resolve(process.cwd(), root), resolve(PROJECT_ROOT, root)];
  for (const c of candidates) {
    if (existsSync(c) && statSync(c).isDirectory()) return c;
  }
  throw new UserError(`data.root=${root} is not a folder (looked for ${[...new Set(candidates)].join(' and ')})`);
}
