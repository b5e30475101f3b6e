import { availableParallelism, loadavg } from 'node:os';

/** How busy the machine was: the 1-minute load average and the cores it is shared by. */
export interface MachineLoad {
  cores: number;
  loadAverage: number;
}

export function machineLoad(): MachineLoad {
  return { cores: availableParallelism(), loadAverage: Math.round(loadavg()[0] * 100) / 100 };
}

/**
 * A timing taken while other work held the cores (a training run beside an eval) is inflated, not
 * the tool's speed: say so next to it. Busy = a 1-minute load average of at least half the cores
 * (and at least one process) before the timed work started. Windows reports 0: never busy there.
 */
export function busyMachineNote(load: MachineLoad, what: string): string | null {
  if (load.loadAverage < Math.max(1, load.cores / 2)) return null;
  return `the machine was busy before this started (1-minute load average ${load.loadAverage.toFixed(2)} on ${load.cores} cores): ${what} are inflated by the other work, not comparable with a quiet run`;
}
