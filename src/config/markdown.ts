import { describeKeys } from './schema.ts';

/**
 * Every config key as a Markdown table. README.md embeds this table between
 * `<!-- config-keys -->` markers and a test keeps the two identical, so the docs cannot drift
 * from the schema (the single source of truth).
 */
export function configKeysMarkdown(): string {
  const escape = (text: string) => text.replace(/\|/g, '\\|');
  const rows = describeKeys().map(
    (d) => `| \`${d.key}\` | ${escape(d.type)} | \`${escape(JSON.stringify(d.default))}\` | ${escape(d.help)} |`,
  );
  return ['| key | type | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** `text` with the lines between `<!-- name -->` and `<!-- /name -->` replaced by `body`. */
export function replaceBetweenMarkers(text: string, name: string, body: string): string {
  const open = `<!-- ${name} -->`;
  const close = `<!-- /${name} -->`;
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  if (start < 0 || end < start) throw new Error(`README.md: markers ${open} ... ${close} not found`);
  return `${text.slice(0, start + open.length)}\n${body}\n${text.slice(end)}`;
}

/** The lines between `<!-- name -->` and `<!-- /name -->`, or null when the markers are missing. */
export function textBetweenMarkers(text: string, name: string): string | null {
  const open = `<!-- ${name} -->`;
  const start = text.indexOf(open);
  const end = text.indexOf(`<!-- /${name} -->`);
  if (start < 0 || end < start) return null;
  return text.slice(start + open.length, end).trim();
}
