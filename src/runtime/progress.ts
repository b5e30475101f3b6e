/**
 * One progress style for all long work: a live bar with count, rate, ETA and free-form metrics on
 * a terminal, plain lines when stderr is a file or pipe (`DSI_NO_PROGRESS=1` silences both). On
 * stderr, so `--json` output on stdout stays clean.
 *
 * A bar may span many units of work (a whole training phase is one bar whose ETA is the phase's,
 * with the epoch in its status), may end early (k-means converging, early stopping: `stop({
 * complete: true })` shows it done), and prints lines above itself without garbling them. Before a
 * notice such as Ctrl-C's, `printNotice` clears every live bar and keeps it from drawing again.
 */

/** Where bars are drawn: process.stderr, or a stand-in (tests pass a fake terminal). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Progress {
  /** Advance by `n` and optionally update the metrics shown (e.g. { loss: '0.123' }). */
  tick(n?: number, metrics?: Record<string, string | number>): void;
  /** What the bar is doing now, shown after its label (e.g. "epoch 3/200"). */
  status(text: string): void;
  /** A line of its own: above the bar on a terminal, a plain line otherwise. `terminal: false` prints it only when not on a terminal. */
  line(text: string, opts?: { terminal?: boolean }): void;
  /** `complete`: the work ended before `total` (converged, stopped early) and is done, so show it as done. */
  stop(opts?: { complete?: boolean }): void;
}

let defaultStream: ProgressStream = process.stderr;
const live = new Set<LiveBar>();

/** Draw bars on `stream` from now on (tests); returns the previous one. */
export function setProgressStream(stream: ProgressStream): ProgressStream {
  const previous = defaultStream;
  defaultStream = stream;
  return previous;
}

/**
 * A message that must be read whole (the Ctrl-C notice): every live bar is cleared and silenced
 * first, so a redraw cannot overwrite or split it.
 */
export function printNotice(text: string, stream: ProgressStream = defaultStream): void {
  for (const bar of live) bar.silence();
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

interface LiveBar {
  silence(): void;
}

const quiet = () => process.env.DSI_NO_PROGRESS === '1';

/** Seconds as a person reads an ETA: 45s, 3m 20s, 1h 05m. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const BAR_WIDTH = 24;
const REDRAW_MS = 100;

export function progressBar(label: string, total: number, unit = 'it', stream: ProgressStream = defaultStream): Progress {
  const start = Date.now();
  let done = 0;
  let metricsText = '';
  let statusText = '';
  let lastDraw = 0;
  let silenced = false;
  let stopped = false;
  const interactive = Boolean(stream.isTTY) && !quiet();
  const rate = () => done / Math.max(1e-3, (Date.now() - start) / 1000);
  const format = (m: Record<string, string | number>) =>
    Object.entries(m)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? +v.toPrecision(4) : v}`)
      .join(' ');

  const render = () => {
    const head = statusText ? `${label} ${statusText}` : label;
    const r = rate();
    let body: string;
    if (total > 0) {
      const filled = Math.round(BAR_WIDTH * Math.min(1, done / total));
      const eta = done > 0 ? formatDuration((total - done) / r) : '?';
      body = `|${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}| ${done}/${total} ${unit} | ${r.toFixed(1)} ${unit}/s | ETA ${eta}`;
    } else {
      body = `${done} ${unit} | ${r.toFixed(1)} ${unit}/s`;
    }
    const text = `${head} ${body}${metricsText ? ` | ${metricsText}` : ''}`;
    const columns = stream.columns && stream.columns > 20 ? stream.columns - 1 : 200;
    return text.length > columns ? `${text.slice(0, columns - 1)}…` : text;
  };
  const draw = (force = false) => {
    if (!interactive || silenced || stopped) return;
    const now = Date.now();
    if (!force && now - lastDraw < REDRAW_MS) return;
    lastDraw = now;
    stream.write(`\r\x1b[2K${render()}`);
  };
  const handle: LiveBar = {
    silence() {
      if (interactive && !silenced && !stopped) stream.write('\r\x1b[2K');
      silenced = true;
      live.delete(handle);
    },
  };
  if (interactive) live.add(handle);
  draw(true);

  return {
    tick(n = 1, metrics) {
      done += n;
      if (metrics) metricsText = format(metrics);
      draw();
    },
    status(text) {
      statusText = text;
      draw(true);
    },
    line(text, opts = {}) {
      if (quiet() || silenced) return;
      if (!interactive) return void stream.write(`${text}\n`);
      if (opts.terminal === false) return;
      stream.write(`\r\x1b[2K${text}\n`);
      draw(true);
    },
    stop(opts = {}) {
      if (stopped) return;
      if (opts.complete) total = done;
      const secs = (Date.now() - start) / 1000;
      if (interactive && !silenced) {
        draw(true);
        stream.write('\n');
      }
      stopped = true;
      live.delete(handle);
      if (!interactive && !quiet()) {
        const count = total > 0 && done !== total ? `${done}/${total}` : `${done}`;
        stream.write(`${label}: ${count} ${unit} in ${secs.toFixed(1)} s (${(done / Math.max(secs, 1e-3)).toFixed(1)} ${unit}/s)${metricsText ? ` ${metricsText}` : ''}\n`);
      }
    },
  };
}
