/**
 * Calendar dates as whole day numbers (days since 1970-01-01), the arithmetic
 * both the holiday reader and {@linkcode Calendar} need. A day number names a
 * date, not an instant: it says nothing about time zones.
 *
 * @module
 */

/** Milliseconds in a day of 24 hours. */
export const DAY_MS = 86_400_000;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The day number of a date, or `undefined` when there is no such date (2026-02-30). */
export function dayNumber(year: number, month: number, day: number): number | undefined {
  const time = Date.UTC(year, month - 1, day);
  const date = new Date(time);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1) return undefined;
  if (date.getUTCDate() !== day) return undefined;
  return time / DAY_MS;
}

/** Reads `YYYY-MM-DD` as a day number, or `undefined` when it is not a real date in that form. */
export function parseIsoDate(text: string): number | undefined {
  const match = ISO_DATE.exec(text);
  if (match === null) return undefined;
  return dayNumber(Number(match[1]), Number(match[2]), Number(match[3]));
}

/** Writes a day number as `YYYY-MM-DD`. */
export function isoDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The weekday of a day number: 0 is Monday, 6 is Sunday. */
export function weekdayOf(day: number): number {
  // 1970-01-01 was a Thursday (3).
  return (((day + 3) % 7) + 7) % 7;
}
