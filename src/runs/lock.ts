/**
 * Where a run is claimed before anything writes to checkpoints/<run>/. Every writer (a fresh run,
 * a resume, a branch) goes through `lockRun`, so the exclusive lock that keeps two `dsi train`
 * processes off one run belongs here, and only here. It does not exclude anyone yet (its own
 * issue); today it only marks the place.
 */
export interface RunLock {
  release(): Promise<void>;
}

export async function lockRun(_runDir: string): Promise<RunLock> {
  return { release: async () => {} };
}
