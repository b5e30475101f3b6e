/**
 * Every `--json` output (and eval.json) uses snake_case keys, like the config keys and the run
 * store: `dbSize` becomes `db_size`. Metric names (`IA@1`, `P@10`, `eval/zero-shot/MAP@10`) and
 * keys that are data (class names, file names) stay as they are: only lower-to-upper camel humps
 * are split.
 */
export function snakeCase(key: string): string {
  return /^[a-z][A-Za-z0-9]*$/.test(key) ? key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase() : key;
}

/** A copy of `value` with every object key in snake_case (arrays and primitives kept). */
export function snakeCaseKeys<T>(value: T): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [snakeCase(k), snakeCaseKeys(v)]));
  }
  return value;
}

/** The text of a `--json` output: snake_case keys, indented, one trailing newline. */
export function jsonOutput(value: unknown, indent = 2): string {
  return JSON.stringify(snakeCaseKeys(value), null, indent) + '\n';
}

/** The inverse of snakeCase for keys it produced: `db_size` -> `dbSize`; `IA@1`, `P@10` stay. */
export function camelCase(key: string): string {
  return /^[a-z][a-z0-9_]*$/.test(key) ? key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()) : key;
}

/** A copy of `value` with every object key back in camelCase: JSON this tool wrote, read as its TypeScript records. */
export function camelCaseKeys<T>(value: unknown): T {
  if (Array.isArray(value)) return value.map((v) => camelCaseKeys(v)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [camelCase(k), camelCaseKeys(v)])) as T;
  }
  return value as T;
}
