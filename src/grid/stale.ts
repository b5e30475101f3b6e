/**
 * A grid row is stale when the settings its run was trained with (experiments/<row>/config.yaml,
 * written by `dsi train`) differ from what the plan asks for now: the config file or the row's
 * overrides changed since. Skipping it as "done" would put an old experiment in the new table.
 */
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfig, validateConfig } from '../config/load.ts';
import type { DsiConfig } from '../config/schema.ts';
import type { GridRow } from './plan.ts';

/** Where the data lives and where runs are logged are not part of the experiment. */
const IGNORED = [/^data\.root$/, /^tracking\./, /^decode\.batch_size$/];

function flatten(config: DsiConfig): Map<string, string> {
  const out = new Map<string, string>();
  for (const [section, values] of Object.entries(config)) {
    if (values === null || typeof values !== 'object') continue;
    for (const [key, value] of Object.entries(values as Record<string, unknown>)) out.set(`${section}.${key}`, JSON.stringify(value ?? null));
  }
  return out;
}

/**
 * The settings that differ between the row's run and the plan, as `key: run value -> plan value`;
 * empty when they agree or the row has no run yet.
 */
export function staleSettings(row: GridRow, experimentsDir: string): string[] {
  const file = join(experimentsDir, row.name, 'config.yaml');
  if (!existsSync(file)) return [];
  let ran: DsiConfig;
  try {
    ran = validateConfig(parseYaml(readFileSync(file, 'utf8')), file);
  } catch (e) {
    return [`${file} no longer loads: ${e instanceof Error ? e.message : String(e)}`];
  }
  const wanted = flatten(loadConfig(row.config, row.set).config);
  const had = flatten(ran);
  const changed: string[] = [];
  for (const [key, value] of wanted) {
    if (IGNORED.some((r) => r.test(key))) continue;
    const before = had.get(key) ?? 'absent';
    if (before !== value) changed.push(`${key}: ${before} -> ${value}`);
  }
  return changed;
}

/**
 * Moves a stale row's run store and checkpoints to <dir>/.stale/<row>-<stamp>/ so the row can run
 * again without losing the old experiment. Returns the new locations.
 */
export function setAsideStaleRun(row: GridRow, dirs: { experiments: string; checkpoints: string }, now = new Date()): string[] {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const moved: string[] = [];
  for (const dir of [dirs.experiments, dirs.checkpoints]) {
    const from = join(dir, row.name);
    if (!existsSync(from)) continue;
    const to = join(dir, '.stale', `${row.name}-${stamp}`);
    mkdirSync(join(dir, '.stale'), { recursive: true });
    renameSync(from, to);
    moved.push(to);
  }
  return moved;
}
