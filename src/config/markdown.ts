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

/** Where the body between `<!-- name -->` and `<!-- /name -->` starts and ends, or null. */
function markerSpan(text: string, name: string): { start: number; end: number } | null {
  const open = `<!-- ${name} -->`;
  const start = text.indexOf(open);
  const end = text.indexOf(`<!-- /${name} -->`);
  return start < 0 || end < start ? null : { start: start + open.length, end };
}

/** `text` with the lines between `<!-- name -->` and `<!-- /name -->` replaced by `body`. */
export function replaceBetweenMarkers(text: string, name: string, body: string): string {
  const span = markerSpan(text, name);
  if (!span) throw new Error(`README.md: markers <!-- ${name} --> ... <!-- /${name} --> not found`);
  return `${text.slice(0, span.start)}\n${body}\n${text.slice(span.end)}`;
}

/** The lines between `<!-- name -->` and `<!-- /name -->`, or null when the markers are missing. */
export function textBetweenMarkers(text: string, name: string): string | null {
  const span = markerSpan(text, name);
  return span ? text.slice(span.start, span.end).trim() : null;
}
