/**
 * A named working calendar: weekly spans of local wall time in one IANA zone,
 * minus holidays. It answers "is the site working now?", "until when?" and
 * "when does that change?" for any instant, without a clock of its own.
 *
 * Rules:
 * - A holiday closes the spans that open on it. A night shift that opened the
 *   evening before runs to its end; one that opens on the holiday evening
 *   does not open.
 * - Spans are wall time, so daylight saving shortens or lengthens them: a
 *   local time the clocks skip maps forward to the instant they jump, and a
 *   local time they show twice maps to its first occurrence.
 * - Overlapping or touching spans merge: `isOpen()` does not flip between them.
 *
 * @module
 */

import { DAY_MS, isoDate, parseIsoDate, weekdayOf } from "./_dates.ts";
import { instantAt, wallClock, zoneFormatter } from "./_zone.ts";
import { describeSpans, type WeeklySpan } from "./hours.ts";

/** How far {@linkcode Calendar.nextChange} and {@linkcode Calendar.currentSpan} look, in days. */
export const SEARCH_DAYS = 400;

/** Days of spans kept per calendar before the cache starts over. */
const CACHED_DAYS = 1000;

/** What {@linkcode Calendar} is made of, typically one `[calendars.<name>]` table. */
export interface CalendarOptions {
  /** The calendar's name, for messages. */
  name: string;
  /** IANA time zone the spans and holidays are in, e.g. `"America/Los_Angeles"`. */
  timezone: string;
  /** Weekly spans, from `parseSpans()`; none means never open. */
  spans: readonly WeeklySpan[];
  /** Local dates `YYYY-MM-DD` on which no span opens. */
  holidays?: Iterable<string>;
}

/** An open stretch of time: `start` inclusive, `end` exclusive, ms since the epoch. */
export interface OpenSpan {
  start: number;
  end: number;
}

/** A span of one day, as instants. */
interface DaySpan extends OpenSpan {
  /** The local day number it opens on. */
  day: number;
}

/** A working calendar; every `at` is ms since the epoch. */
export class Calendar {
  /** The calendar's name. */
  readonly name: string;
  /** Its IANA time zone. */
  readonly timezone: string;
  /** Its weekly spans. */
  readonly spans: readonly WeeklySpan[];
  /** Its holidays, `YYYY-MM-DD`, sorted. */
  readonly holidays: readonly string[];
  #holidays: Set<string>;
  #days = new Map<number, DaySpan[]>();
  #today?: { day: number; from: number; to: number };

  /**
   * Checks the zone and the holidays once, up front.
   *
   * @throws {RangeError} when `timezone` is not an IANA time zone.
   * @throws {SyntaxError} when a holiday is not a date `YYYY-MM-DD`.
   */
  constructor({ name, timezone, spans, holidays = [] }: CalendarOptions) {
    try {
      zoneFormatter(timezone);
    } catch (cause) {
      throw new RangeError(
        `Calendar ${JSON.stringify(name)}: unknown time zone ${JSON.stringify(timezone)}`,
        { cause },
      );
    }
    this.name = name;
    this.timezone = timezone;
    this.spans = [...spans];
    this.#holidays = new Set();
    for (const holiday of holidays) {
      if (parseIsoDate(holiday) === undefined) {
        throw new SyntaxError(
          `Calendar ${JSON.stringify(name)}: expected a holiday date like "2026-12-25", got ${
            JSON.stringify(holiday)
          }`,
        );
      }
      this.#holidays.add(holiday);
    }
    this.holidays = [...this.#holidays].sort();
  }

  /** Whether `at` is inside a span that did not open on a holiday. */
  isOpen(at: number): boolean {
    return this.#containing(at) !== undefined;
  }

  /** Whether the local date at `at` is a holiday. */
  isHoliday(at: number): boolean {
    return this.#holidays.has(this.localDate(at));
  }

  /**
   * The first instant after `at` at which {@linkcode isOpen} flips, or `null`
   * when it does not flip within {@linkcode SEARCH_DAYS} (no spans, always
   * open, or closed by a long list of holidays).
   */
  nextChange(at: number): number | null {
    const first = this.#containing(at);
    if (first !== undefined) {
      const end = this.#mergedEnd(first, at);
      return Number.isFinite(end) ? end : null;
    }
    const today = this.#localDay(at);
    for (let day = today; day <= today + SEARCH_DAYS; day += 1) {
      const next = this.#spansOpeningOn(day).find((span) => span.start > at);
      if (next !== undefined) return next.start;
    }
    return null;
  }

  /**
   * The open stretch containing `at`, overlapping and touching spans merged,
   * or `null` when closed. An end (start) more than {@linkcode SEARCH_DAYS}
   * away is `Infinity` (`-Infinity`): always open.
   */
  currentSpan(at: number): OpenSpan | null {
    const first = this.#containing(at);
    if (first === undefined) return null;
    return { start: this.#mergedStart(first, at), end: this.#mergedEnd(first, at) };
  }

  /** For messages: `Mon-Fri 06:00-18:00, Sat 08:00-12:00 (America/Los_Angeles), 12 holidays`. */
  describe(): string {
    const hours = this.spans.length === 0 ? "never open" : describeSpans(this.spans);
    const count = this.holidays.length;
    const holidays = count === 0 ? "" : `, ${count} ${count === 1 ? "holiday" : "holidays"}`;
    return `${hours} (${this.timezone})${holidays}`;
  }

  /** The local date at `at`, `YYYY-MM-DD`. */
  localDate(at: number): string {
    return isoDate(this.#localDay(at));
  }

  /** The local weekday at `at`: 0 is Monday, 6 is Sunday. */
  localWeekday(at: number): number {
    return weekdayOf(this.#localDay(at));
  }

  /** The local day number (days since 1970-01-01) at `at`; the last day's bounds are kept. */
  #localDay(at: number): number {
    const known = this.#today;
    if (known !== undefined && known.from <= at && at < known.to) return known.day;
    const day = Math.floor(wallClock(this.timezone, at) / DAY_MS);
    this.#today = {
      day,
      from: instantAt(this.timezone, day * DAY_MS),
      to: instantAt(this.timezone, (day + 1) * DAY_MS),
    };
    return day;
  }

  /** A span, unmerged, that contains `at`. */
  #containing(at: number): DaySpan | undefined {
    const day = this.#localDay(at);
    const contains = (span: DaySpan) => span.start <= at && at < span.end;
    return this.#spansOpeningOn(day).find(contains) ??
      this.#spansOpeningOn(day - 1).find(contains);
  }

  /**
   * Where the stretch of `first` (containing `at`) closes. Spans come day by
   * day in order of opening, so the first one opening after the end ends it.
   */
  #mergedEnd(first: DaySpan, at: number): number {
    let end = first.end;
    for (let day = first.day - 1; end - at <= SEARCH_DAYS * DAY_MS; day += 1) {
      if (day > first.day + SEARCH_DAYS + 1) return end;
      for (const span of this.#spansOpeningOn(day)) {
        if (span.start > end) return end;
        if (span.end > end) end = span.end;
      }
    }
    return Infinity;
  }

  /**
   * Where the stretch of `first` (containing `at`) opened. Only spans opening
   * on the same day as the earliest start so far, or the day before, can
   * reach back across it.
   */
  #mergedStart(first: DaySpan, at: number): number {
    let { start, day } = first;
    for (let grown = true; grown;) {
      if (at - start > SEARCH_DAYS * DAY_MS) return -Infinity;
      grown = false;
      for (const span of [...this.#spansOpeningOn(day - 1), ...this.#spansOpeningOn(day)]) {
        if (span.start < start && span.end >= start) {
          start = span.start;
          day = span.day;
          grown = true;
        }
      }
    }
    return start;
  }

  /** The spans opening on local day `day`, as instants, sorted by start; cached. */
  #spansOpeningOn(day: number): DaySpan[] {
    let found = this.#days.get(day);
    if (found !== undefined) return found;
    found = [];
    if (!this.#holidays.has(isoDate(day))) {
      const weekday = weekdayOf(day);
      const midnight = day * DAY_MS;
      for (const span of this.spans) {
        if (!span.days.includes(weekday)) continue;
        const start = instantAt(this.timezone, midnight + span.start * 60_000);
        const end = instantAt(this.timezone, midnight + span.end * 60_000);
        // A span wholly inside a skipped hour lasts no time at all.
        if (end > start) found.push({ start, end, day });
      }
      found.sort((a, b) => a.start - b.start);
    }
    if (this.#days.size >= CACHED_DAYS) this.#days.clear();
    this.#days.set(day, found);
    return found;
  }
}
