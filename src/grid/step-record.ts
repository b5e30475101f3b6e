import { appendFileSync, existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The wall time of every grid step, in <logs>/steps.jsonl (one JSON line per step: row, step,
 * exit, seconds, at). A step that ends, even by Ctrl-C (exit 130), records itself. A runner killed
 * outright (SIGKILL, a machine or session ending) cannot, so while a step runs the runner keeps
 * <logs>/current-step.json with a heartbeat; the next runner (which holds the grid lock, so the
 * old one is gone) records that step as lost (exit 137) with the time up to its last heartbeat.
 * Without it, a row trained across a hard kill would report only its last part's time.
 */
export interface StepRecord {
  row: string;
  step: string;
  exit: number;
  seconds: number;
  at: string;
  /** Ended by a kill the runner could not see; seconds run to its last heartbeat. */
  lost?: boolean;
}

/** Exit status recorded for a lost step (128 + SIGKILL, as a shell reports it). */
export const LOST_EXIT = 137;
const HEARTBEAT_MS = 15_000;

export interface RunningStep {
  row: string;
  step: string;
  started: string;
  alive: string;
}

const currentFile = (logs: string) => join(logs, 'current-step.json');
const append = (logs: string, record: StepRecord) => appendFileSync(join(logs, 'steps.jsonl'), JSON.stringify(record) + '\n');

/** Starts timing a step; the returned function records it with its exit code and seconds. */
export function startStep(logs: string, row: string, step: string): (exit: number) => StepRecord {
  const started = new Date();
  const beat = () => writeFileSync(currentFile(logs), JSON.stringify({ row, step, started: started.toISOString(), alive: new Date().toISOString() } satisfies RunningStep));
  beat();
  const timer = setInterval(beat, HEARTBEAT_MS);
  timer.unref();
  return (exit) => {
    clearInterval(timer);
    const record: StepRecord = { row, step, exit, seconds: (Date.now() - started.getTime()) / 1000, at: new Date().toISOString() };
    append(logs, record);
    if (existsSync(currentFile(logs))) unlinkSync(currentFile(logs));
    return record;
  };
}

/** Records the step a killed runner left behind, if any. Call only while holding the grid lock. */
export function recordLostStep(logs: string): StepRecord | null {
  const file = currentFile(logs);
  if (!existsSync(file)) return null;
  let current: RunningStep;
  try {
    current = JSON.parse(readFileSync(file, 'utf8')) as RunningStep;
  } catch {
    unlinkSync(file); // torn by the kill mid-write: its time is unknown, and nothing else is in it
    return null;
  }
  const seconds = Math.max(0, (Date.parse(current.alive) - Date.parse(current.started)) / 1000);
  const record: StepRecord = { row: current.row, step: current.step, exit: LOST_EXIT, seconds, at: current.alive, lost: true };
  append(logs, record);
  unlinkSync(file);
  return record;
}

/** The step a runner is on (or was on when it was killed): current-step.json, if any. */
export function readRunningStep(logs: string): RunningStep | null {
  try {
    return JSON.parse(readFileSync(currentFile(logs), 'utf8')) as RunningStep;
  } catch {
    return null;
  }
}
