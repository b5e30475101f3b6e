/** Status output for people: one-line messages on stderr (stdout is kept for results). */
import { relative } from 'node:path';

export type Log = (line: string) => void;

/** The default `log` of every command: a line on stderr. */
export const logToStderr: Log = (line) => {
  process.stderr.write(`${line}\n`);
};

/** A path as a message shows it: relative to the working directory when it is below it. */
export function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}
