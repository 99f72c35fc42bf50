/**
 * Adoption: every started script leaves a PID record, and a later agent
 * takes over a copy that is still running (started by an earlier agent or
 * by `agent --once`) by it. A record is trusted only when its pid still runs
 * with the recorded start time and command line; a stale one is removed,
 * and what its dead leader left in its process group is stopped.
 *
 * @module
 */
import { readPidRecord, removePidRecord, verifyPidRecord, writePidRecord } from "./pid_records.ts";
import { reapGroup, type RunEnd, type TreeContext } from "./_terminate.ts";

/** A running copy taken over from its PID record. */
export interface Adopted {
  pid: number;
  /** Ms since the epoch, as recorded. */
  startedAt: number;
  /** Settles when the process is gone; its exit code cannot be known (code and signal null). */
  exited: Promise<RunEnd>;
  /** Who started it, for the state's reason: `adopted (started by once, agent pid 812)`. */
  reason: string;
}

/** What adoption needs: the tree context, the folder of the PID records, the script's log. */
export interface AdoptContext extends TreeContext {
  pidDir: string;
  /** The script's current log file, kept in its record. */
  logPath: string;
}

/** How often an adopted process (not our child: no exit status) is looked at. */
const ADOPTED_POLL_MS = 1000;

/** Adopts the running copy of `ctx.script` its PID record names, or null when there is none. */
export async function adoptRecorded(ctx: AdoptContext): Promise<Adopted | null> {
  const { pidDir, platform, clock, log, script } = ctx;
  const { record, error } = await readPidRecord(pidDir, script.name);
  if (error) {
    log.warn("Ignoring a corrupt PID record of {script}: {error}", { script: script.name, error });
    await removePidRecord(pidDir, script.name);
  }
  if (!record) return null;
  const verdict = await verifyPidRecord(record, platform);
  if (verdict.status !== "alive") {
    await removePidRecord(pidDir, script.name);
    if (verdict.status === "gone") await reapGroup(record.pid, "left over", ctx);
    else {
      log.info("Ignoring the PID record of {script}: {reason}", {
        script: script.name,
        reason: verdict.reason,
      });
    }
    return null;
  }
  return {
    pid: record.pid,
    startedAt: Date.parse(record.startedAt) || clock.now(),
    exited: watchAdopted(record.pid, verdict.info.startTime, ctx),
    reason: `adopted (started by ${record.owner}, agent pid ${record.agentPid})`,
  };
}

/**
 * Writes the PID record of a child the daemon started at `startedAt` (ms),
 * for a later agent to adopt; a failure is logged, never thrown.
 */
export async function recordChild(
  pid: number,
  startedAt: number,
  ctx: AdoptContext,
): Promise<void> {
  const { pidDir, platform, log, script } = ctx;
  try {
    const startTime = platform.startTimeOf
      ? await platform.startTimeOf(pid)
      : (await platform.inspect(pid))?.startTime ?? null;
    if (startTime === null) return; // already gone; nothing to adopt later
    await writePidRecord(pidDir, {
      script: script.name,
      pid,
      startTime,
      argv: script.command,
      owner: "daemon",
      agentPid: Deno.pid,
      startedAt: new Date(startedAt).toISOString(),
      logPath: ctx.logPath,
    });
  } catch (error) {
    log.error("Cannot write the PID record of {script} in {dir}: {error}", {
      script: script.name,
      dir: pidDir,
      error,
    });
  }
}

/** Resolves once `pid` is gone or is another process (a different start time). */
async function watchAdopted(pid: number, startTime: string, ctx: TreeContext): Promise<RunEnd> {
  const { platform, clock } = ctx;
  for (;;) {
    await clock.sleep(ADOPTED_POLL_MS);
    const info = await platform.inspect(pid);
    if (!info || info.startTime !== startTime) return { code: null, signal: null };
  }
}
