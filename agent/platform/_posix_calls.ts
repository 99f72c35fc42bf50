/**
 * The small system calls of the POSIX platform: signalling a process group,
 * asking whether a group still has members, checking a pid or a file.
 *
 * @module
 */
import nodeProcess from "node:process";

/** Send a signal to the group led by `pid`, or to the process alone if it leads none (yet); gone is fine. */
export function signalGroup(pid: number, signal: Deno.Signal): void {
  checkPid(pid);
  try {
    Deno.kill(-pid, signal);
    return;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  try {
    Deno.kill(pid, signal);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Throws unless `pid` is a positive integer. */
export function checkPid(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new RangeError(`Invalid pid: expected a positive integer, got ${pid}`);
  }
}

/**
 * Whether any process (a zombie included) is in process group `pgid`:
 * `kill(-pgid, 0)`, which fails with ESRCH only when the group is empty.
 */
export function groupExists(pgid: number): boolean {
  try {
    nodeProcess.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code !== "ESRCH";
  }
}

/** Whether `path` is a file (false when it is missing or unreadable). */
export function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
