import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { UserError } from '../runtime/errors.ts';

/**
 * A grid plan (YAML): the rows of a results table, each a run = config + --set overrides, trained
 * and evaluated under the row's name. `${NAME}` in a row's values is replaced by --var NAME=...,
 * else the environment variable NAME, else the plan's `vars:` entry.
 *
 *   vars: { DATA: ../shared/data }
 *   defaults: { set: [train.workers=auto], eval: [--protocol, both] }
 *   rows:
 *     - name: imagenette-512-clustered
 *       config: imagenette.yaml
 *       set: [data.source=folder, "data.root=${DATA}/imagenette-224/train"]
 *       queries: ${DATA}/imagenette-224/train     # out-of-corpus queries: what the corpus left out
 *       queries_per_class: 30
 */
export interface GridRow {
  name: string;
  config: string;
  /** --set overrides for train and bovw (defaults first, then the row's). */
  set: string[];
  /** Extra arguments of `dsi eval` (default --protocol both). */
  eval: string[];
  /** Build the BoVW index before eval so the table has its row (default true). */
  bovw: boolean;
  /** Free text shown by --list (what the row is for). */
  note?: string;
  /**
   * Out-of-corpus queries: a DIR/<class>/<image> folder evaluated with `dsi eval --queries` (the
   * corpus's own images are left out), at most `perClass` per class.
   */
  outOfCorpus?: { dir: string; perClass?: number };
}

interface RawRow {
  name?: unknown;
  config?: unknown;
  set?: unknown;
  eval?: unknown;
  bovw?: unknown;
  note?: unknown;
  queries?: unknown;
  queries_per_class?: unknown;
}

const ROW_NAME = /^[A-Za-z0-9][\w.-]*$/;

export function loadPlan(file: string, vars: Record<string, string> = {}, env: NodeJS.ProcessEnv = process.env): GridRow[] {
  let raw: { vars?: Record<string, unknown>; defaults?: RawRow; rows?: RawRow[] };
  try {
    raw = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as typeof raw;
  } catch (err) {
    throw new UserError(`cannot read grid plan ${file}: ${(err as Error).message}`);
  }
  if (!Array.isArray(raw.rows) || raw.rows.length === 0) throw new UserError(`grid plan ${file} has no rows: (a list of {name, config, set})`);
  const lookup = (name: string): string => {
    const v = vars[name] ?? env[name] ?? raw.vars?.[name];
    if (v === undefined || v === null) throw new UserError(`grid plan ${file} uses \${${name}} but it is not set: --var ${name}=... or vars: in the plan`);
    return String(v);
  };
  const expand = (s: string) => s.replace(/\$\{(\w+)\}/g, (_, name: string) => lookup(name));
  const strings = (v: unknown, what: string): string[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new UserError(`grid plan ${file}: ${what} must be a list`);
    return v.map((x) => expand(String(x)));
  };
  const defaults = raw.defaults ?? {};
  const seen = new Set<string>();
  return raw.rows.map((r, i) => {
    const name = String(r.name ?? '');
    if (!ROW_NAME.test(name)) throw new UserError(`grid plan ${file}: row ${i + 1} needs a name of letters, digits, ".", "_" or "-" (got "${name}")`);
    if (seen.has(name)) throw new UserError(`grid plan ${file}: row name "${name}" appears twice`);
    seen.add(name);
    if (typeof r.config !== 'string') throw new UserError(`grid plan ${file}: row ${name} needs a config`);
    const queries = r.queries ?? defaults.queries;
    const perClass = r.queries_per_class ?? defaults.queries_per_class;
    if (queries !== undefined && queries !== null && typeof queries !== 'string') throw new UserError(`grid plan ${file}: row ${name} queries must be a folder path`);
    if (perClass !== undefined && (!Number.isInteger(perClass) || (perClass as number) < 1)) throw new UserError(`grid plan ${file}: row ${name} queries_per_class must be a whole number >= 1 (got ${String(perClass)})`);
    const evalArgs = r.eval !== undefined ? strings(r.eval, `row ${name} eval`) : strings(defaults.eval, 'defaults.eval');
    return {
      name,
      config: expand(r.config),
      set: [...strings(defaults.set, 'defaults.set'), ...strings(r.set, `row ${name} set`)],
      eval: evalArgs.length ? evalArgs : ['--protocol', 'both'],
      bovw: (r.bovw ?? defaults.bovw ?? true) !== false,
      note: typeof r.note === 'string' ? r.note : undefined,
      outOfCorpus: typeof queries === 'string' ? { dir: expand(queries), perClass: perClass as number | undefined } : undefined,
    };
  });
}

/** Rows whose name matches one of the patterns (`*` is any text); all rows when there are none. */
export function selectRows(rows: GridRow[], patterns: string[]): GridRow[] {
  if (patterns.length === 0) return rows;
  const res = patterns.map((p) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`));
  const picked = rows.filter((r) => res.some((re) => re.test(r.name)));
  if (picked.length === 0) throw new UserError(`no row of the plan matches ${patterns.join(', ')} (rows: ${rows.map((r) => r.name).join(', ')})`);
  return picked;
}
