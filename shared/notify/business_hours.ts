/**
 * Business hours as operators write them: `"Mon-Fri 08:00-18:00"`,
 * `"Sat 09:00-13:00"`, `"Mon,Wed,Fri-Sun 10:00-12:00"`. Days are `Mon` to
 * `Sun` (any case), as ranges and comma lists; times are 24-hour `HH:MM`, the
 * end after the start (`24:00` is the end of the day).
 *
 * {@linkcode withinHours} reads the local weekday and time in a named IANA
 * zone through `Intl.DateTimeFormat`, so daylight-saving changes need no
 * arithmetic here.
 *
 * @module
 */

/** Day names in the order of {@linkcode BusinessHours.days}: 0 is Monday, 6 is Sunday. */
export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

/** Example shown in every hours error, so messages agree. */
export const HOURS_HINT = 'business hours like "Mon-Fri 08:00-18:00"';

/** One parsed hours spec: on these weekdays, from `start` (inclusive) to `end` (exclusive). */
export interface BusinessHours {
  /** The spec as written, for messages. */
  text: string;
  /** Weekdays, 0 (Monday) to 6 (Sunday), ascending. */
  days: number[];
  /** Minutes after local midnight, 0 to 1439. */
  start: number;
  /** Minutes after local midnight, `start + 1` to 1440. */
  end: number;
}

const SPEC = /^\s*(\S+)\s+(\d{2}):(\d{2})-(\d{2}):(\d{2})\s*$/;

/**
 * Parses one spec such as `"Mon-Fri 08:00-18:00"`.
 *
 * @throws {SyntaxError} when `text` is not an hours spec, naming the value and what is wrong.
 */
export function parseHours(text: string): BusinessHours {
  const fail = (why?: string) =>
    new SyntaxError(
      `Expected ${HOURS_HINT}, got ${JSON.stringify(text)}${why === undefined ? "" : ` (${why})`}`,
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
    if (to < from) throw fail(`the day range ${JSON.stringify(part)} runs backwards`);
    for (let day = from; day <= to; day += 1) days.add(day);
  }
  const start = minutes(match[2], match[3]);
  const end = minutes(match[4], match[5]);
  if (start === undefined || start >= 1440 || end === undefined) {
    throw fail("times run from 00:00 to 24:00");
  }
  if (end <= start) throw fail("the end must be after the start");
  return { text: text.trim(), days: [...days].sort((a, b) => a - b), start, end };
}

/**
 * Whether `at` (ms since the epoch) falls inside any of `specs` in `timezone`.
 * An empty list is never inside; leave hours out altogether for "always".
 *
 * @throws {RangeError} when `timezone` is not an IANA time zone.
 */
export function withinHours(
  specs: readonly BusinessHours[],
  timezone: string,
  at: number,
): boolean {
  const local = localTime(timezone, at);
  return specs.some((spec) =>
    spec.days.includes(local.weekday) && local.minutes >= spec.start && local.minutes < spec.end
  );
}

/**
 * The local weekday (0 Monday … 6 Sunday) and minutes after midnight of `at` in `timezone`.
 *
 * @throws {RangeError} when `timezone` is not an IANA time zone.
 */
export function localTime(timezone: string, at: number): { weekday: number; minutes: number } {
  const parts = formatter(timezone).formatToParts(at);
  const part = (type: Intl.DateTimeFormatPartTypes) =>
    parts.find((candidate) => candidate.type === type)?.value ?? "";
  const hour = Number(part("hour")) % 24;
  return {
    weekday: dayIndex(part("weekday")),
    minutes: hour * 60 + Number(part("minute")),
  };
}

/** Formats a list of specs for messages: `"Mon-Fri 08:00-18:00, Sat 09:00-13:00"`. */
export function describeHours(specs: readonly BusinessHours[]): string {
  return specs.map((spec) => spec.text).join(", ");
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let found = formatters.get(timezone);
  if (found === undefined) {
    found = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(timezone, found);
  }
  return found;
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
