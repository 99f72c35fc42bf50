/**
 * A scheduled script's cron: when it runs next, and how many of its times a
 * long run made it miss (a run never overlaps the next one).
 *
 * @module
 */
import { Cron } from "croner";
import type { ResolvedSchedule } from "../../shared/agent_config/types.ts";

/** At most this many missed times are counted after one run. */
const MAX_SKIPPED = 1000;

/** One script's schedule (its time zone included). */
export class Schedule {
  #cron: Cron;

  /** `config` is the script's resolved `schedule`. */
  constructor(config: ResolvedSchedule) {
    this.#cron = new Cron(config.cron, { timezone: config.timezone, paused: true });
  }

  /** The next scheduled time after `now` (ms since epoch), or null when there is none. */
  next(now: number): number | null {
    return this.#cron.nextRun(new Date(now))?.getTime() ?? null;
  }

  /** The time between the first two scheduled times after `at` (ms), or null. */
  period(at: number): number | null {
    const first = this.#cron.nextRun(new Date(at));
    const second = first && this.#cron.nextRun(first);
    return first && second ? second.getTime() - first.getTime() : null;
  }

  /** How many scheduled times passed while a run that started at `startedAt` ran until `now`. */
  skipped(startedAt: number, now: number): number {
    let skipped = 0;
    let t = this.#cron.nextRun(new Date(startedAt + 1));
    while (t && t.getTime() < now && skipped < MAX_SKIPPED) {
      skipped++;
      t = this.#cron.nextRun(t);
    }
    return skipped;
  }
}
