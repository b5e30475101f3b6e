import cliProgress from 'cli-progress';

/**
 * One progress bar style for all long work: count, rate, ETA and free-form metrics.
 * Goes to stderr so `--json` output on stdout stays clean. Quiet when not a TTY unless forced,
 * but still prints one line at the end so logs show what happened.
 */
export interface Progress {
  /** Advance by `n` and optionally update the metrics shown (e.g. { loss: '0.123' }). */
  tick(n?: number, metrics?: Record<string, string | number>): void;
  stop(): void;
}

export function progressBar(label: string, total: number, unit = 'it'): Progress {
  const start = Date.now();
  let done = 0;
  let metricsText = '';
  const interactive = Boolean(process.stderr.isTTY) && process.env.DSI_NO_PROGRESS !== '1';
  const bar = interactive
    ? new cliProgress.SingleBar(
        {
          format: `${label} |{bar}| {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted} {metrics}`,
          barsize: 24,
          hideCursor: true,
          stream: process.stderr,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(total, 0, { rate: '0.0', metrics: '' });
  const format = (m: Record<string, string | number>) =>
    Object.entries(m)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? +v.toPrecision(4) : v}`)
      .join(' ');
  return {
    tick(n = 1, metrics) {
      done += n;
      if (metrics) metricsText = format(metrics);
      const rate = done / Math.max(1e-3, (Date.now() - start) / 1000);
      bar?.update(done, { rate: rate.toFixed(1), metrics: metricsText });
    },
    stop() {
      const secs = (Date.now() - start) / 1000;
      bar?.stop();
      if (!interactive && process.env.DSI_NO_PROGRESS !== '1') {
        process.stderr.write(
          `${label}: ${done}/${total} ${unit} in ${secs.toFixed(1)} s (${(done / Math.max(secs, 1e-3)).toFixed(1)} ${unit}/s) ${metricsText}\n`,
        );
      }
    },
  };
}
