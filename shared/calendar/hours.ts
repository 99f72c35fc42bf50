/**
 * Working hours of a calendar, as operators write them: `"Mon-Fri 06:00-18:00"`,
 * `"Sat 08:00-12:00"`, `"Mon,Wed,Fri-Sun 10:00-12:00"`. Days are `Mon` to `Sun`
 * (any case), as ranges and comma lists; times are 24-hour `HH:MM`, and `24:00`
 * is the end of the day.
 *
 * Calendars and notify routes' `hours` both write them this way, night shifts
 * included:
 * - an end at or before the start means the span runs past midnight into the
 *   next day (an equal end is a full 24 hours);
 * - a day range may wrap past Sunday.
 *
 * `"Sun-Thu 22:00-06:30"` opens Sunday 22:00 and closes Monday 06:30, and so on
 * to the span that opens Thursday 22:00 and closes Friday 06:30.
 *
 * @module
 */

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

/** Example shown in every working-hours error, so messages agree. */
export const SPANS_HINT =
  'working hours like "Mon-Fri 08:00-18:00" (a span past midnight like "Sun-Thu 22:00-06:30")';

/**
 * One parsed hours spec: a span of local wall time that opens on each of `days`
 * at `start` and closes `end - start` minutes of wall time later.
 */
export interface WeeklySpan {
  /** The spec as written, for messages. */
  text: string;
  /** The weekdays the span opens on, 0 (Monday) to 6 (Sunday), ascending. */
  days: number[];
  /** Minutes after local midnight of the opening day, 0 to 1439. */
  start: number;
  /**
   * Minutes after local midnight of the opening day, `start + 1` to `start + 1440`;
   * above 1440 the span closes on the next day (`"22:00-06:30"` is 1320 to 1830).
   */
  end: number;
}

const SPEC = /^\s*(\S+)\s+(\d{2}):(\d{2})-(\d{2}):(\d{2})\s*$/;

/**
 * Parses one spec such as `"Mon-Fri 08:00-18:00"` or `"Sun-Thu 22:00-06:30"`.
 *
 * @throws {SyntaxError} when `text` is not an hours spec, naming the value and what is wrong.
 */
export function parseSpans(text: string): WeeklySpan {
  const fail = (why?: string) =>
    new SyntaxError(
      `Expected ${SPANS_HINT}, got ${JSON.stringify(text)}${why === undefined ? "" : ` (${why})`}`,
    );
  if (typeof text !== "string") throw fail();
  const match = SPEC.exec(text);
  if (match === null) throw fail();
  const days = new Set<number>();
  for (const part of match[1].split(",")) {
    const [first, last, ...extra] = part.split("-");
    const from = dayIndex(first);
    const to = last === undefined ? from : dayIndex(last);
    if (extra.length > 0 || from < 0 || to < 0) {
      throw fail(`unknown days ${JSON.stringify(part)}; use ${WEEKDAYS.join(", ")}`);
    }
    // Ranges wrap past Sunday: "Sun-Thu" is Sunday to Thursday.
    for (let day = from;; day = (day + 1) % 7) {
      days.add(day);
      if (day === to) break;
    }
  }
  const start = minutes(match[2], match[3]);
  const end = minutes(match[4], match[5]);
  if (start === undefined || start >= 1440 || end === undefined) {
    throw fail("times run from 00:00 to 24:00");
  }
  return {
    text: text.trim(),
    days: [...days].sort((a, b) => a - b),
    start,
    end: end > start ? end : end + 1440,
  };
}

/** Formats a list of specs for messages: `"Mon-Fri 06:00-18:00, Sat 08:00-12:00"`. */
export function describeSpans(spans: readonly WeeklySpan[]): string {
  return spans.map((span) => span.text).join(", ");
}

function dayIndex(name: string | undefined): number {
  if (name === undefined) return -1;
  const wanted = name.toLowerCase();
  return WEEKDAYS.findIndex((day) => day.toLowerCase() === wanted);
}

function minutes(hours: string, mins: string): number | undefined {
  const h = Number(hours);
  const m = Number(mins);
  if (m > 59 || h > 24 || (h === 24 && m > 0)) return undefined;
  return h * 60 + m;
}
