import { cpus } from 'node:os';

/** How much of the machine other processes used while something of ours was being timed. */
export interface MachineLoad {
  cores: number;
  /** Seconds the measurement lasted. */
  seconds: number;
  /**
   * CPU time of every other process over the interval, as a share of the machine's capacity
   * (cores x seconds): 0 = we had it to ourselves, 0.5 = another process held half of it.
   */
  otherCpuShare: number;
}

/** The clocks a measurement reads, all in milliseconds. */
export interface LoadSample {
  /** Busy (non-idle) CPU time of the whole machine so far, summed over cores. */
  machineBusy: number;
  cores: number;
  /** CPU time of this process so far (its worker threads included). */
  own: number;
  /** Wall clock. */
  now: number;
}

/** os.cpus() works on every platform (on Linux it reads /proc/stat). */
export function sampleLoad(): LoadSample {
  const all = cpus();
  const u = process.cpuUsage();
  return {
    machineBusy: all.reduce((sum, c) => sum + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0),
    cores: all.length,
    own: (u.user + u.system) / 1000,
    now: performance.now(),
  };
}

/**
 * Start watching; `stop()` says what share of the machine others used meanwhile. Measured over the
 * timed work itself, so neither a lagging load average nor our own previous step (a grid runs BoVW
 * right before eval) counts as "busy".
 */
export function watchMachineLoad(sample: () => LoadSample = sampleLoad): { stop(): MachineLoad } {
  const start = sample();
  return {
    stop() {
      const end = sample();
      const seconds = (end.now - start.now) / 1000;
      const others = Math.max(0, end.machineBusy - start.machineBusy - (end.own - start.own));
      const capacity = end.cores * seconds * 1000;
      return { cores: end.cores, seconds: round(seconds), otherCpuShare: capacity > 0 ? round(Math.min(1, others / capacity)) : 0 };
    },
  };
}

const round = (v: number) => Math.round(v * 100) / 100;

/** Another process holding at least a quarter of the machine (half a core of two) makes a timing untrustworthy. */
export const BUSY_SHARE = 0.25;

/** A timing taken while other work held the cores (a training run beside an eval) is inflated, not the tool's speed: say so next to it. */
export function busyMachineNote(load: MachineLoad, what: string): string | null {
  if (load.otherCpuShare < BUSY_SHARE) return null;
  return (
    `other processes used ${Math.round(load.otherCpuShare * 100)}% of the machine's ${load.cores} cores while this ran: ` +
    `${what} are inflated by that work, not comparable with a quiet run`
  );
}
