/**
 * The learning rate of one optimizer step: linear warm-up over the first `warmupSteps` steps of
 * the run, then constant (the reference) or cosine decay to 0 over the phase. A pure function of
 * counters the checkpoint holds (step, epoch), so a resumed run uses the same rates.
 */
export interface RateSchedule {
  base: number;
  schedule: 'constant' | 'cosine';
  warmupSteps: number;
  /** Max epochs of the phase (cosine reaches 0 at its end). */
  phaseEpochs: number;
}

/** `step`: optimizer steps before this one in the run; `epochProgress`: epochs of the phase done (fractional). */
export function learningRateAt(s: RateSchedule, step: number, epochProgress: number): number {
  let rate = s.base;
  if (s.schedule === 'cosine' && s.phaseEpochs > 0) {
    const p = Math.min(1, Math.max(0, epochProgress / s.phaseEpochs));
    rate *= 0.5 * (1 + Math.cos(Math.PI * p));
  }
  if (s.warmupSteps > 0 && step < s.warmupSteps) rate *= (step + 1) / s.warmupSteps;
  return rate;
}

/** True when the schedule is the reference's constant rate (the trainer then passes the plain rate). */
export function isConstant(s: Pick<RateSchedule, 'schedule' | 'warmupSteps'>): boolean {
  return s.schedule === 'constant' && s.warmupSteps === 0;
}
