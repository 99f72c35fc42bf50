/**
 * Active hours: a script with `active = "<calendar>"` runs in the calendar's
 * open spans. What happens outside them is its `off_hours`:
 *
 * - `"stop"` (the default): the runner's gate keeps it from starting while
 *   the calendar is closed, whoever asks (the supervisor, a lease, a
 *   command); when a span closes it is stopped gracefully, when one opens it
 *   is started again, unless someone stopped it by hand meanwhile (or, for a
 *   singleton, another agent holds it). A script stopped this way is idle,
 *   never alerted on.
 * - `"relax"`: it keeps running; its heartbeat timeout and probe intervals
 *   are `relax_factor` times longer and its alerts at most warnings.
 * - `"run"`: it keeps running as usual, and nothing about it alerts.
 *
 * One timer for all scripts, set to the nearest change of any calendar (at
 * most an hour away, so a clock that jumps is caught up).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Clock } from "../clock.ts";
import type { ResolvedScript } from "../../shared/agent_config/types.ts";
import type { ScriptRunner } from "./script_runner.ts";
import { offHoursAt } from "../health/off_hours.ts";
import { wallClock } from "../../shared/calendar/mod.ts";

/** The longest wait between two looks at the calendars. */
const MAX_WAIT_MS = 3_600_000;
/** Every "outside its active hours" reason starts with this (a stop by hand does not). */
const CLOSED = "outside its active hours";

const log = getLogger(["scriptmon", "active-hours"]);

/**
 * Why `script` may not start at `at`: `outside its active hours (day_shift opens Mon 06:00)`,
 * or null when it may (in hours, or its off_hours is not "stop").
 */
export function closedReason(script: ResolvedScript, at: number): string | null {
  if (offHoursAt(script, at) !== "stop") return null;
  const calendar = script.active!.calendar;
  const opens = calendar.nextChange(at);
  const when = opens === null ? "never opens" : `opens ${localTime(opens, calendar.timezone)}`;
  return `${CLOSED} (${calendar.name} ${when})`;
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** "Mon 06:00" in `timezone` (through the calendar's own zone arithmetic, formatters cached). */
function localTime(at: number, timezone: string): string {
  const wall = new Date(wallClock(timezone, at));
  const two = (n: number) => String(n).padStart(2, "0");
  return `${WEEKDAYS[wall.getUTCDay()]} ${two(wall.getUTCHours())}:${two(wall.getUTCMinutes())}`;
}

/** What the active-hours timer needs. */
export interface ActiveHoursDeps {
  clock: Clock;
  /** Every script's runner now (they change on a config reload). */
  runners(): ScriptRunner[];
  /** Whether a singleton runner may run here (holds its lease or claim); true for the others. */
  mayRun(runner: ScriptRunner): boolean;
}

/** Starts and stops `off_hours = "stop"` scripts as their calendars open and close. */
export class ActiveHours {
  #deps: ActiveHoursDeps;
  /** Each runner's calendar state as last seen: true while open. */
  #open = new WeakMap<ScriptRunner, boolean>();
  #stop = new AbortController();
  #wake = new AbortController();
  #loop: Promise<void> | null = null;

  constructor(deps: ActiveHoursDeps) {
    this.#deps = deps;
  }

  /** Starts the timer. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Looks again now: a script was added or changed. */
  wake(): void {
    this.#wake.abort();
  }

  /** Stops the timer. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { clock } = this.#deps;
    while (!this.#stop.signal.aborted) {
      // Before the look: a wake() while it runs (a script added) is not lost.
      this.#wake = new AbortController();
      const now = clock.now();
      let wakeAt = now + MAX_WAIT_MS;
      for (const runner of this.#deps.runners()) {
        const active = runner.config.active;
        if (active === undefined) continue;
        const open = active.calendar.isOpen(now);
        const seen = this.#open.get(runner);
        this.#open.set(runner, open);
        // First sight too: the calendar may have changed since the supervisor added it.
        if (seen !== open) await this.#changed(runner, open, now, seen !== undefined);
        const next = active.calendar.nextChange(now);
        if (next !== null) wakeAt = Math.min(wakeAt, next);
      }
      const either = AbortSignal.any([this.#stop.signal, this.#wake.signal]);
      await clock.sleep(Math.max(0, wakeAt - clock.now()), either);
    }
  }

  async #changed(runner: ScriptRunner, open: boolean, now: number, said: boolean): Promise<void> {
    const { calendar, offHours } = runner.config.active!;
    if (said) {
      log.info("{script}: {calendar} {change}", {
        script: runner.name,
        calendar: calendar.name,
        change: open ? "opened" : `closed (off_hours = "${offHours}")`,
      });
    }
    if (offHours !== "stop") return;
    try {
      if (!open) {
        const state = runner.state;
        if (state !== "stopped" && state !== "stopping") {
          await runner.stop(closedReason(runner.config, now) ?? CLOSED);
        }
        return;
      }
      const status = runner.status();
      const closedByUs = status.reason?.startsWith(CLOSED) ?? false;
      if (status.state === "stopped" && closedByUs && runner.config.enabled) {
        if (this.#deps.mayRun(runner)) await runner.start();
      }
    } catch (error) {
      log.error("{script}: cannot follow its active hours: {error}", {
        script: runner.name,
        error,
      });
    }
  }
}
