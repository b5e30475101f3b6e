/**
 * Stopping long work gracefully. Ctrl-C in a terminal (SIGINT), and SIGTERM / SIGHUP as sent by
 * Slurm, Docker, Kubernetes or a closed terminal: the first one asks the work to stop at the next
 * step boundary (the caller checkpoints and says how to resume); a second one quits at once,
 * giving the terminal its cursor back (the progress bar hides it).
 */
import { constants } from 'node:os';
import { printNotice } from './progress.ts';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

export interface GracefulStop {
  signal: AbortSignal;
  /** The signal that asked to stop, or null. */
  received(): StopSignal | null;
  /** The conventional exit status for it (128 + signal number), or 0. */
  exitCode(): number;
  dispose(): void;
}

const SHOW_CURSOR = '\u001B[?25h';

export function stopOnSignals(notice: (signal: StopSignal) => string): GracefulStop {
  const controller = new AbortController();
  let first: StopSignal | null = null;
  const code = (s: StopSignal) => 128 + constants.signals[s];
  const handlers = STOP_SIGNALS.map((s) => {
    const handler = () => {
      if (first) {
        if (process.stderr.isTTY) process.stderr.write(`${SHOW_CURSOR}\n`);
        process.exit(code(s));
      }
      first = s;
      // Live progress bars are cleared and silenced first, or their next redraw garbles the notice.
      printNotice(`\n${notice(s)}`);
      controller.abort();
    };
    process.on(s, handler);
    return [s, handler] as const;
  });
  return {
    signal: controller.signal,
    received: () => first,
    exitCode: () => (first ? code(first) : 0),
    dispose: () => {
      for (const [s, h] of handlers) process.off(s, h);
    },
  };
}
