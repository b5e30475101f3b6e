/**
 * The config a command works with on an existing run: the run's own config (from its checkpoint),
 * changed by `--config FILE` and `--set` where the command allows it. One function for
 * `dsi train --resume/--from` (everything may change; the checkpoint check refuses what cannot)
 * and `dsi eval`/`dsi search` (only the sections that change how a run is evaluated).
 */
import { applyOverride, loadConfig, validateConfig } from '../config/load.ts';
import type { DsiConfig } from '../config/schema.ts';
import { UserError } from '../runtime/errors.ts';

type Section = keyof DsiConfig;

/** Keys that may differ from the training config at evaluation: how a run is evaluated, not what it is. */
export const EVAL_SECTIONS = ['decode', 'eval', 'bovw', 'tracking'] as const satisfies readonly Section[];

export interface ConfigChanges {
  configFile: string | null;
  overrides: readonly string[];
  /** Sections that may change; undefined: all of them (then --config replaces the run's config). */
  sections?: readonly Section[];
}

export function configForRun(own: DsiConfig, changes: ConfigChanges): DsiConfig {
  const { configFile, overrides, sections } = changes;
  if (configFile && !sections) return loadConfig(configFile, [...overrides]).config;
  const raw: Record<string, unknown> = structuredClone(own);
  if (configFile && sections) {
    const asked = loadConfig(configFile).config;
    for (const s of sections) raw[s] = asked[s];
  }
  const overridden = new Set<string>();
  for (const o of overrides) {
    const section = o.split('.')[0];
    if (sections && !(sections as readonly string[]).includes(section)) {
      throw new UserError(`--set ${o}: only ${sections.join(', ')} keys can change at evaluation; data and model are the run's own`);
    }
    overridden.add(applyOverride(raw, o));
  }
  return validateConfig(raw, null, overridden);
}

/** Training keys may change on resume (e.g. more epochs), but the user should see that they did. */
export function trainingChanges(before: DsiConfig, after: DsiConfig, where = 'on resume'): string[] {
  const out: string[] = [];
  for (const section of ['train', 'decode', 'eval', 'tracking'] as const) {
    const a = before[section] as Record<string, unknown>;
    const b = after[section] as Record<string, unknown>;
    for (const key of Object.keys(b)) {
      if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) {
        out.push(`${section}.${key} changed ${where}: checkpoint ${JSON.stringify(a[key])}, now ${JSON.stringify(b[key])}`);
      }
    }
  }
  return out;
}
