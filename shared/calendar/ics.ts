/**
 * Holidays from an iCalendar file (RFC 5545), such as a Google or Outlook
 * export of a holiday calendar. Only what a holiday list needs is read: the
 * dates of each `VEVENT`. Everything else (`VTIMEZONE`, `VALARM`, `X-`
 * properties, `SUMMARY`, `DESCRIPTION` with escaped commas) is skipped.
 *
 * What an event gives:
 * - `DTSTART;VALUE=DATE:20261225` alone is one day; with `DTEND;VALUE=DATE`
 *   (exclusive) or `DURATION` every day up to the end, so a two-day holiday
 *   gives two dates.
 * - A date-time (`20261225T000000Z`, `TZID=…`, or floating) gives its date as
 *   written, without converting zones: holiday files mark whole days, and a
 *   date-time there almost always means "that day". An end at midnight is
 *   exclusive, any later end includes its day.
 * - `RRULE:FREQ=YEARLY`, optionally with `COUNT`, `UNTIL` or `INTERVAL`
 *   (`BYMONTH`/`BYMONTHDAY` are accepted when they repeat DTSTART). Without
 *   `COUNT` or `UNTIL` a rule runs through {@linkcode IcsOptions.through}, by
 *   default ten years after DTSTART. Any other rule is an error, never a
 *   silent guess. A 29 February repeats only in leap years.
 * - `RDATE` adds dates, `EXDATE` removes them, an event with `RECURRENCE-ID`
 *   moves one occurrence, and `STATUS:CANCELLED` drops an event.
 *
 * @module
 */

import { dayNumber, isoDate, parseIsoDate } from "./_dates.ts";
import { type ContentLine, contentLines } from "./_ics_lines.ts";

/** Options of {@linkcode parseIcsHolidays}. */
export interface IcsOptions {
  /**
   * Last date, `YYYY-MM-DD`, to which a yearly rule without COUNT or UNTIL is
   * expanded. Default: ten years after the event's DTSTART. Pass a date some
   * years after today when a file's events start long ago.
   */
  through?: string;
}

const RRULE_HINT = "only FREQ=YEARLY, with COUNT or UNTIL";
const MOMENT = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z?)?$/;
const DURATION = /^\+?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** A date with an optional time of day, as written (no zone conversion). */
interface Moment {
  /** Day number (days since 1970-01-01). */
  day: number;
  /** Minutes after midnight; 0 for a date. */
  minute: number;
  /** Whether the value was a date without a time. */
  isDate: boolean;
}

interface Event {
  line: number;
  uid: string;
  start?: Moment;
  end?: Moment;
  durationMinutes?: number;
  rrule?: { line: number; value: string };
  rdates: number[];
  exdates: Set<number>;
  recurrenceId?: number;
  cancelled: boolean;
}

/**
 * Reads the holiday dates of an iCalendar text: local dates `YYYY-MM-DD`,
 * sorted and unique. `source` (usually the file name) starts every message.
 *
 * @throws {SyntaxError} when the text is not iCalendar, or an event has a date
 * or recurrence it cannot read, naming `source`, the line and the value.
 */
export function parseIcsHolidays(
  text: string,
  source: string,
  options: IcsOptions = {},
): string[] {
  let through: number | undefined;
  if (options.through !== undefined) {
    through = parseIsoDate(options.through);
    if (through === undefined) {
      throw new SyntaxError(
        `Expected a date like "2036-12-31" for through, got ${JSON.stringify(options.through)}`,
      );
    }
  }
  const fail = (line: number, what: string) => new SyntaxError(`${source} line ${line}: ${what}`);
  const events = readEvents(text, source, fail);
  const moved = new Map<string, Set<number>>();
  for (const event of events) {
    if (event.recurrenceId === undefined) continue;
    const ids = moved.get(event.uid) ?? new Set<number>();
    ids.add(event.recurrenceId);
    moved.set(event.uid, ids);
  }
  const dates = new Set<number>();
  for (const event of events) {
    if (event.cancelled) continue;
    const start = event.start;
    if (start === undefined) throw fail(event.line, "VEVENT has no DTSTART");
    const length = lengthInDays(start, endOf(event, start));
    const skipped = event.recurrenceId === undefined ? moved.get(event.uid) : undefined;
    for (const day of occurrences(event, start, through, fail)) {
      if (event.exdates.has(day) || skipped?.has(day)) continue;
      for (let offset = 0; offset < length; offset += 1) dates.add(day + offset);
    }
  }
  return [...dates].sort((a, b) => a - b).map(isoDate);
}

function readEvents(
  text: string,
  source: string,
  fail: (line: number, what: string) => SyntaxError,
): Event[] {
  const events: Event[] = [];
  const open: { name: string; line: number }[] = [];
  let event: Event | undefined;
  let sawCalendar = false;
  for (const property of contentLines(text)) {
    const { line, name, value } = property;
    if (name === "BEGIN") {
      const component = value.trim().toUpperCase();
      if (component === "VCALENDAR") sawCalendar = true;
      open.push({ name: component, line });
      if (component === "VEVENT") {
        event = { line, uid: "", rdates: [], exdates: new Set(), cancelled: false };
      }
      continue;
    }
    if (name === "END") {
      const component = value.trim().toUpperCase();
      const top = open.pop();
      if (top === undefined || top.name !== component) {
        const closes = top === undefined ? "nothing" : `BEGIN:${top.name} (line ${top.line})`;
        throw fail(line, `END:${component} does not close ${closes}`);
      }
      if (component === "VEVENT" && event !== undefined) {
        events.push(event);
        event = undefined;
      }
      continue;
    }
    if (event === undefined || open.at(-1)?.name !== "VEVENT") continue;
    readProperty(event, property, fail);
  }
  if (!sawCalendar) {
    throw new SyntaxError(`${source}: not an iCalendar file (no BEGIN:VCALENDAR line)`);
  }
  const unclosed = open.at(-1);
  if (unclosed !== undefined) {
    throw new SyntaxError(
      `${source}: BEGIN:${unclosed.name} on line ${unclosed.line} is never closed (is the file cut short?)`,
    );
  }
  return events;
}

function readProperty(
  event: Event,
  { line, name, params, value }: ContentLine,
  fail: (line: number, what: string) => SyntaxError,
): void {
  const moment = (text: string) => {
    const found = parseMoment(text);
    if (found === undefined) {
      throw fail(
        line,
        `${name} ${
          JSON.stringify(text)
        } is not a date like 20261225 or a date-time like 20261225T090000`,
      );
    }
    return found;
  };
  // A list may hold periods ("start/end"); only their starts matter here.
  const list = () => value.split(",").map((item) => moment(item.trim().split("/")[0]).day);
  switch (name) {
    case "UID":
      event.uid = value.trim();
      break;
    case "DTSTART":
      event.start = moment(value.trim());
      break;
    case "DTEND":
      event.end = moment(value.trim());
      break;
    case "DURATION": {
      const minutes = parseDuration(value.trim());
      if (minutes === undefined) {
        throw fail(line, `DURATION ${JSON.stringify(value)} is not a duration like P1D or PT8H`);
      }
      event.durationMinutes = minutes;
      break;
    }
    case "RRULE":
      if (event.rrule !== undefined) {
        throw fail(line, `RRULE ${JSON.stringify(value)} is not supported (only one RRULE)`);
      }
      event.rrule = { line, value: value.trim() };
      break;
    case "EXRULE":
      throw fail(line, `EXRULE ${JSON.stringify(value)} is not supported (use EXDATE)`);
    case "RDATE":
      event.rdates.push(...list());
      break;
    case "EXDATE":
      for (const day of list()) event.exdates.add(day);
      break;
    case "RECURRENCE-ID":
      if (params.get("RANGE")?.toUpperCase() === "THISANDFUTURE") {
        throw fail(
          line,
          `RECURRENCE-ID ${JSON.stringify(value)} with RANGE=THISANDFUTURE is not supported`,
        );
      }
      event.recurrenceId = moment(value.trim()).day;
      break;
    case "STATUS":
      event.cancelled = value.trim().toUpperCase() === "CANCELLED";
      break;
  }
}

/** The day numbers on which `event` starts: DTSTART, its yearly repeats and RDATEs. */
function occurrences(
  event: Event,
  start: Moment,
  through: number | undefined,
  fail: (line: number, what: string) => SyntaxError,
): number[] {
  if (event.rrule === undefined) return [start.day, ...event.rdates];
  const { line, value } = event.rrule;
  const rule = parseYearlyRule(value, start);
  if (rule === undefined) {
    throw fail(line, `RRULE ${JSON.stringify(value)} is not supported (${RRULE_HINT})`);
  }
  const { year, month, date } = civil(start.day);
  const { count, interval, until } = rule;
  const last = until === undefined
    ? undefined
    : until.day * 1440 + (until.isDate ? 1439 : until.minute);
  const yearly: number[] = [];
  for (let next = year; next <= 9999; next += interval) {
    const day = dayNumber(next, month, date);
    if (day === undefined) continue;
    if (last !== undefined && day * 1440 + start.minute > last) break;
    if (count === undefined && last === undefined && yearly.length > 0) {
      if (through === undefined ? next > year + 10 : day > through) break;
    }
    yearly.push(day);
    if (count !== undefined && yearly.length >= count) break;
  }
  return [...yearly, ...event.rdates];
}

const RULE_PARTS = ["FREQ", "COUNT", "UNTIL", "INTERVAL", "BYMONTH", "BYMONTHDAY", "WKST"];

/** Reads a yearly rule that repeats DTSTART's month and day, or `undefined` for any other rule. */
function parseYearlyRule(
  value: string,
  start: Moment,
): { count?: number; interval: number; until?: Moment } | undefined {
  const rule = new Map<string, string>();
  for (const part of value.split(";")) {
    const [key, setting, ...extra] = part.split("=");
    const name = key.trim().toUpperCase();
    if (setting === undefined || extra.length > 0 || !RULE_PARTS.includes(name)) return undefined;
    rule.set(name, setting.trim().toUpperCase());
  }
  const { month, date } = civil(start.day);
  if (rule.get("FREQ") !== "YEARLY") return undefined;
  if (rule.has("BYMONTH") && rule.get("BYMONTH") !== String(month)) return undefined;
  if (rule.has("BYMONTHDAY") && rule.get("BYMONTHDAY") !== String(date)) return undefined;
  const interval = positive(rule.get("INTERVAL") ?? "1");
  const countText = rule.get("COUNT");
  const count = countText === undefined ? undefined : positive(countText);
  const untilText = rule.get("UNTIL");
  const until = untilText === undefined ? undefined : parseMoment(untilText);
  if (interval === undefined) return undefined;
  if (countText !== undefined && (count === undefined || untilText !== undefined)) return undefined;
  if (untilText !== undefined && until === undefined) return undefined;
  return { count, interval, until };
}

function endOf(event: Event, start: Moment): Moment | undefined {
  if (event.end !== undefined) return event.end;
  if (event.durationMinutes === undefined) return undefined;
  const total = start.day * 1440 + start.minute + event.durationMinutes;
  return { day: Math.floor(total / 1440), minute: total % 1440, isDate: false };
}

/** How many dates an event covers: its end is exclusive at midnight; at least one. */
function lengthInDays(start: Moment, end: Moment | undefined): number {
  if (end === undefined) return 1;
  return Math.max(1, end.day - start.day + (end.minute > 0 ? 1 : 0));
}

function parseMoment(text: string): Moment | undefined {
  const match = MOMENT.exec(text);
  if (match === null) return undefined;
  const day = dayNumber(Number(match[1]), Number(match[2]), Number(match[3]));
  if (day === undefined) return undefined;
  if (match[4] === undefined) return { day, minute: 0, isDate: true };
  const hour = Number(match[4]);
  const minute = Number(match[5]);
  if (hour > 23 || minute > 59 || Number(match[6]) > 60) return undefined;
  return { day, minute: hour * 60 + minute, isDate: false };
}

function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (match === null || text === "P" || text.endsWith("T")) return undefined;
  const [weeks, days, hours, minutes, seconds] = match.slice(1).map((part) => Number(part ?? 0));
  return ((weeks * 7 + days) * 24 + hours) * 60 + minutes + Math.ceil(seconds / 60);
}

function positive(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const value = Number(text);
  return value > 0 ? value : undefined;
}

function civil(day: number): { year: number; month: number; date: number } {
  const value = new Date(day * 86_400_000);
  return {
    year: value.getUTCFullYear(),
    month: value.getUTCMonth() + 1,
    date: value.getUTCDate(),
  };
}
