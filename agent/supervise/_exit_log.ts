/**
 * How a script's failed exits reach the agent's log. Each one is a warning, except inside a
 * crash loop: the loop's start is already a warning ("is crash-looping: …"), and a script that
 * dies 0.3 s after each start would otherwise write three warnings a second, for days. There each
 * exit is a debug line, and a warning every {@linkcode CRASH_LOOP_REPORT_MS} counts them. The
 * event log still keeps every exit.
 */
import type { Logger } from "@logtape/logtape";
import { formatDuration } from "../../shared/config/units.ts";

/** How often a crash loop's exits are summed up in one warning. */
export const CRASH_LOOP_REPORT_MS = 5 * 60_000;

/** One script's exit lines; `crashLoopStarted()` and `exit()` are called as they happen. */
export class ExitLog {
  #log: Logger;
  #script: string;
  #exits = 0;
  #since = 0;

  constructor(log: Logger, script: string) {
    this.#log = log;
    this.#script = script;
  }

  /** A crash loop begins at `now`: the exits from here on are counted. */
  crashLoopStarted(now: number): void {
    this.#exits = 0;
    this.#since = now;
  }

  /** A run (pid `pid`) failed: `how` it ended, at `now`; `inCrashLoop` when it was a retry. */
  exit(pid: number, how: string, inCrashLoop: boolean, now: number): void {
    const fields = { script: this.#script, pid, how };
    if (!inCrashLoop) {
      this.#log.warn("{script} (pid {pid}) {how}", fields);
      return;
    }
    this.#log.debug("{script} (pid {pid}) {how}", fields);
    this.#exits++;
    if (now - this.#since < CRASH_LOOP_REPORT_MS) return;
    this.#log.warn(
      "{script} is still crash-looping: {n} exits in the last {period}; pid {pid} {how}",
      {
        ...fields,
        n: this.#exits,
        period: formatDuration(now - this.#since),
      },
    );
    this.crashLoopStarted(now);
  }
}
