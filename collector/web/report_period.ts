/**
 * The reports page's period: whole UTC days from the form's `from` and `to`
 * (`2026-12-01`, both included), as a window `[since, until)` in ms; a
 * period that takes in today ends now. Nothing is known of the future, so a
 * day after today is refused, as is `to` before `from` and a text that is
 * not a day.
 *
 * @module
 */
import { DAY_MS } from "../fleet/uptime.ts";

/** The longest period a report covers (as `GET /api/v1/reports/*` allows). */
export const MAX_PERIOD_DAYS = 400;

/** A period of whole UTC days. */
export interface ReportPeriod {
  /** The first day, `YYYY-MM-DD`. */
  from: string;
  /** The last day, included. */
  to: string;
  since: number;
  /** The end of `to`, or now when `to` is today. */
  until: number;
}

/** The quick choices of the form, newest first: yesterday, the last 7 and 30 days. */
export function quickPeriods(now: number): { label: string; from: string; to: string }[] {
  const today = dayOf(now);
  const back = (days: number) => text(today - days * DAY_MS);
  return [
    { label: "Yesterday", from: back(1), to: back(1) },
    { label: "Last 7 days", from: back(6), to: back(0) },
    { label: "Last 30 days", from: back(29), to: back(0) },
  ];
}

/** The period without `from` and `to`: the last 7 days. */
export function defaultPeriod(now: number): ReportPeriod {
  const week = quickPeriods(now)[1];
  return parsePeriod(week, now);
}

/**
 * The period of the form's `from` and `to` (either may be absent: a single day).
 *
 * @throws {SyntaxError} when a text is not a day like `2026-12-01`.
 * @throws {RangeError} when `to` is before `from`, a day is after today, or the period is longer
 *   than {@linkcode MAX_PERIOD_DAYS}.
 */
export function parsePeriod(input: { from?: string; to?: string }, now: number): ReportPeriod {
  if (input.from === undefined && input.to === undefined) return defaultPeriod(now);
  const from = parseDay("from", input.from ?? input.to!);
  const to = parseDay("to", input.to ?? input.from!);
  const today = dayOf(now);
  for (const [name, day] of [["from", from], ["to", to]] as const) {
    if (day > today) {
      throw new RangeError(
        `${name}: expected a day up to today (${text(today)}, UTC), got "${
          text(day)
        }": a report covers the past`,
      );
    }
  }
  if (to < from) {
    throw new RangeError(`to: expected a day on or after from (${text(from)}), got "${text(to)}"`);
  }
  const days = (to - from) / DAY_MS + 1;
  if (days > MAX_PERIOD_DAYS) {
    throw new RangeError(
      `from: a report covers at most ${MAX_PERIOD_DAYS} days, got ${days} (${text(from)} to ${
        text(to)
      })`,
    );
  }
  return { from: text(from), to: text(to), since: from, until: Math.min(to + DAY_MS, now) };
}

/** `2026-12-01` as the ms of its UTC midnight. */
function parseDay(name: string, value: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const ms = match === null
    ? NaN
    : Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  // Date.UTC rolls 2026-02-30 over to March: a day that does not exist does not round-trip.
  if (Number.isNaN(ms) || text(ms) !== value) {
    throw new SyntaxError(
      `${name}: expected a day like "2026-12-01", got ${JSON.stringify(value.slice(0, 40))}`,
    );
  }
  return ms;
}

/** The UTC midnight starting the day of `ms`. */
function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

function text(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
