import { existsSync, readFileSync } from 'node:fs';
import { resolve, join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { configSchema, crossKeyProblems, sections, type DsiConfig } from './schema.ts';
import { shownPath } from '../runtime/log.ts';

/** A bad config: the message names the key, the bad value and what is allowed. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `imagenette.yaml`, `imagenette` and `configs/imagenette.yaml` all find the shipped config. */
export function findConfigFile(name: string): string {
  const candidates = [name, `${name}.yaml`, join('configs', name), join('configs', `${name}.yaml`)];
  for (const base of [process.cwd(), PROJECT_ROOT]) {
    for (const c of candidates) {
      const p = resolve(base, c);
      if (existsSync(p)) return p;
    }
  }
  throw new ConfigError(`config file "${name}" not found (looked in ./ and ${join(PROJECT_ROOT, 'configs')}/)`);
}

/**
 * What a command reads without --config: the embedded default (data/samples, offline, a few
 * minutes). The schema's own defaults are the reference experiment's hyper-parameters
 * (configs/imagenette.yaml), which reads the Hub: a bare command must not start a download.
 */
export const DEFAULT_CONFIG = 'quickstart.yaml';

/** loadConfig, or the embedded default when no file is named, saying so in one line. */
export function loadConfigOrDefault(file: string | null | undefined, overrides: readonly string[], log: (line: string) => void): LoadedConfig {
  if (file) return loadConfig(file, overrides);
  const loaded = loadConfig(DEFAULT_CONFIG, overrides);
  log(`no --config: using ${shownPath(loaded.file!)} (the embedded default: data/samples, offline, a few minutes)`);
  return loaded;
}

export interface LoadedConfig {
  config: DsiConfig;
  /** Absolute path of the YAML file, or null when only defaults and --set were used. */
  file: string | null;
}

/** Load YAML (optional), apply `section.key=value` overrides, validate once. Throws ConfigError. */
export function loadConfig(file: string | null | undefined, overrides: readonly string[] = []): LoadedConfig {
  let raw: unknown = {};
  let path: string | null = null;
  if (file) {
    path = findConfigFile(file);
    try {
      raw = parseYaml(readFileSync(path, 'utf8')) ?? {};
    } catch (e) {
      const why = e instanceof YAMLParseError ? e.message : String(e);
      throw new ConfigError(`${path}: not valid YAML: ${why}`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      throw new ConfigError(`${path}: expected a mapping of sections (data, model, train, ...), got ${describeKind(raw)}`);
    }
  }
  const merged = structuredClone(raw) as Record<string, unknown>;
  const overridden = new Set<string>();
  for (const o of overrides) overridden.add(applyOverride(merged, o));
  return { config: validateConfig(merged, path, overridden), file: path };
}

/**
 * `--set model.num_heads=8`: the value is read as YAML, so numbers, booleans, null and [lists] work.
 * Returns the key it set, so errors can say the bad value came from --set and not from the file.
 */
export function applyOverride(target: Record<string, unknown>, override: string): string {
  const eq = override.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set "${override}" must look like section.key=value`);
  const key = override.slice(0, eq).trim();
  const text = override.slice(eq + 1);
  const parts = key.split('.');
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new ConfigError(`--set "${override}": key must be section.key, one of the sections ${Object.keys(sections).join(', ')}`);
  }
  const [section, name] = parts;
  if (!(section in sections)) {
    throw new ConfigError(`--set ${key}: unknown section "${section}" (sections: ${Object.keys(sections).join(', ')})`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch {
    value = text;
  }
  if (value === undefined) value = null;
  const sec = (target[section] ??= {}) as Record<string, unknown>;
  if (typeof sec !== 'object' || sec === null) throw new ConfigError(`section "${section}" must be a mapping`);
  sec[name] = value;
  return key;
}

/**
 * Validate once. `overridden` holds the keys set with --set: a problem with one of those is
 * reported as coming from --set, every other one as coming from the file, so the user edits the
 * right thing.
 */
export function validateConfig(raw: unknown, file: string | null = null, overridden: ReadonlySet<string> = new Set()): DsiConfig {
  const origin = (key: string) => (overridden.has(key) ? ' (from --set)' : file ? ` (in ${file})` : '');
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.flatMap((issue) =>
      // An unknown key's issue sits on its section ("data"), naming the keys: blame each key on its own origin.
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((k) => describeIssue({ ...issue, keys: [k] }, raw) + origin([...issue.path.map(String), k].slice(0, 2).join('.')))
        : [describeIssue(issue, raw) + origin(issue.path.slice(0, 2).map(String).join('.'))],
    );
    throw new ConfigError(`invalid config:\n  ${lines.join('\n  ')}`);
  }
  const problems = crossKeyProblems(result.data);
  if (problems.length > 0) {
    throw new ConfigError(`invalid config:\n  ${problems.map((p) => p.message + origin(p.key)).join('\n  ')}`);
  }
  return result.data;
}

/** What a YAML value is, in the words a config author uses. */
function describeKind(value: unknown): string {
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value}`;
}

/** zod's type names ("tuple", "object") in plain words. */
const EXPECTED_WORDS: Record<string, string> = {
  tuple: 'a list like [0.8, 0.1, 0.1]',
  array: 'a list like [1, 5]',
  object: 'a mapping of keys',
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
};

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const key = issue.path.map(String).join('.');
  const value = valueAt(raw, issue.path);
  const shown = `${key}=${JSON.stringify(value)}`;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = issue.path.length === 0 ? Object.keys(sections) : Object.keys(sectionShape(String(issue.path[0])));
      return issue.keys
        .map((k) => `unknown key "${key ? `${key}.` : ''}${k}" (allowed: ${known.join(', ')})`)
        .join('\n  ');
    }
    case 'invalid_value':
      return `${shown} is not allowed: must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_type':
      return `${shown} has the wrong type: expected ${EXPECTED_WORDS[issue.expected] ?? issue.expected}, got ${describeKind(value)}`;
    case 'too_small':
      if (issue.origin === 'array') return `${shown} has too few entries: needs ${issue.exact ? 'exactly' : 'at least'} ${issue.minimum}`;
      return `${shown} is too small: must be ${issue.inclusive === false ? '>' : '>='} ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'array') return `${shown} has too many entries: needs ${issue.exact ? 'exactly' : 'at most'} ${issue.maximum}`;
      return `${shown} is too big: must be ${issue.inclusive === false ? '<' : '<='} ${issue.maximum}`;
    case 'invalid_union':
      return `${shown} is not allowed: ${issue.message}`;
    default:
      return `${shown}: ${issue.message}`;
  }
}

function sectionShape(name: string): Record<string, unknown> {
  const s = (sections as Record<string, { shape: Record<string, unknown> }>)[name];
  return s ? s.shape : {};
}
