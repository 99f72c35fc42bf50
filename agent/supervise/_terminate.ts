/**
 * Stopping a script's process tree the way its config says: the stop signal
 * to the whole tree, SIGKILL after `stop_timeout`, and whatever the leader
 * left behind in its process group stopped the same way.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Clock } from "../clock.ts";
import type { ResolvedScript } from "../../shared/agent_config/types.ts";
import type { Platform } from "../platform/types.ts";
import { formatDuration } from "../../shared/config/units.ts";

/** How a run ended: an exit code or a signal; both null for an adopted process. */
export interface RunEnd {
  code: number | null;
  signal: string | null;
}

/** What stopping a script's processes needs. */
export interface TreeContext {
  platform: Platform;
  clock: Clock;
  log: Logger;
  /** The script: its name, `stopSignal` and `stopTimeoutMs`. */
  script: ResolvedScript;
}

/** How long a killed tree may take to be reaped before stop gives up on it. */
const KILL_WAIT_MS = 5000;
/** How often a group being stopped is looked at. */
const GROUP_POLL_MS = 50;
const TIMED_OUT = Symbol("timed out");

/**
 * Stops a run's whole tree: the stop signal, then SIGKILL after
 * stop_timeout. Resolves with how the run ended; `{ code: null, signal: null }`
 * when it outlives SIGKILL by {@linkcode KILL_WAIT_MS} (logged, given up on).
 */
export async function stopTree(
  run: { pid: number; exited: Promise<RunEnd> },
  ctx: TreeContext,
): Promise<RunEnd> {
  const { platform, clock, log, script } = ctx;
  await platform.signalTree(run.pid, script.stopSignal).catch(() => {});
  const ended = await within(run.exited, script.stopTimeoutMs, clock);
  if (ended !== TIMED_OUT) return ended;
  log.warn("{script} (pid {pid}) ignored {signal} for {wait}; killing its tree", {
    script: script.name,
    pid: run.pid,
    signal: script.stopSignal,
    wait: formatDuration(script.stopTimeoutMs),
  });
  await platform.killTree(run.pid).catch(() => {});
  const killed = await within(run.exited, KILL_WAIT_MS, clock);
  if (killed !== TIMED_OUT) return killed;
  log.error("{script} (pid {pid}) is still alive {wait} after SIGKILL; giving up on it", {
    script: script.name,
    pid: run.pid,
    wait: formatDuration(KILL_WAIT_MS),
  });
  return { code: null, signal: null };
}

/**
 * Stops what is left of a process group whose leader has ended (`what` says
 * which, for the log: "left over", "orphaned", "remaining").
 */
export async function reapGroup(pgid: number, what: string, ctx: TreeContext): Promise<void> {
  const { platform, clock, log, script } = ctx;
  const members = await platform.groupMembers(pgid);
  if (members.length === 0) return;
  log.info("Stopping {n} {what} process(es) of {script}: {pids}", {
    n: members.length,
    what,
    script: script.name,
    pids: members.join(", "),
  });
  await platform.signalTree(pgid, script.stopSignal).catch(() => {});
  for (let waited = 0; waited < script.stopTimeoutMs; waited += GROUP_POLL_MS) {
    if ((await platform.groupMembers(pgid)).length === 0) return;
    await clock.sleep(GROUP_POLL_MS);
  }
  await platform.killTree(pgid).catch(() => {});
}

/** `promise`'s value, or {@linkcode TIMED_OUT} when `ms` pass first (the timer is cleared). */
async function within<T>(
  promise: Promise<T>,
  ms: number,
  clock: Clock,
): Promise<T | typeof TIMED_OUT> {
  const timeout = new AbortController();
  try {
    return await Promise.race([
      promise,
      clock.sleep(ms, timeout.signal).then((): typeof TIMED_OUT => TIMED_OUT),
    ]);
  } finally {
    timeout.abort();
  }
}
