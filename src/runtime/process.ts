/**
 * Whether a process of this machine is still running: the one test behind stale run locks, the
 * grid runner's lock, abandoned cache builds and the `training` status of `dsi runs list`.
 * Signal 0 checks without sending anything; EPERM means it exists under another user.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
