/**
 * The one place that knows eval.json's key names. Every reader of a report field goes through
 * `field`, which accepts the camelCase name (`msPerQuery`) and its snake_case twin (`ms_per_query`),
 * so eval.json can move to snake_case (or be read in either spelling) without touching the readers;
 * a genuine rename is one line in EVAL_KEYS.
 */

import { snakeCase } from '../runtime/json.ts';

/** Report names that differ from the name the readers use (reader name -> names in eval.json, tried in order). */
const EVAL_KEYS: Record<string, string[]> = {};

/** `obj[name]`, tolerating the snake_case spelling and the renames above; undefined when absent. */
export function field(obj: unknown, name: string): unknown {
  if (obj === null || typeof obj !== 'object') return undefined;
  const record = obj as Record<string, unknown>;
  for (const key of [...(EVAL_KEYS[name] ?? []), name, snakeCase(name)]) {
    if (key in record) return record[key];
  }
  return undefined;
}

export function numberField(obj: unknown, name: string): number | null {
  const v = field(obj, name);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function stringField(obj: unknown, name: string): string | null {
  const v = field(obj, name);
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
}

/** A path of fields: `path(report, 'corpus', 'dbSize')`. */
export function path(obj: unknown, ...names: string[]): unknown {
  return names.reduce<unknown>((o, n) => field(o, n), obj);
}
