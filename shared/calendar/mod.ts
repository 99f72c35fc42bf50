/**
 * Named working calendars: weekly spans of local time (night shifts past
 * midnight included), holidays from a list or an iCalendar file, and the
 * questions supervision asks of them: open now, until when, next change.
 * Pure: no clock, no files; callers pass instants and file text in.
 *
 * @module
 */

export { Calendar, SEARCH_DAYS } from "./calendar.ts";
export type { CalendarOptions, OpenSpan } from "./calendar.ts";
export { describeSpans, parseSpans, SPANS_HINT } from "./hours.ts";
export type { WeeklySpan } from "./hours.ts";
export { parseIcsHolidays } from "./ics.ts";
export type { IcsOptions } from "./ics.ts";
export { calendarSchema, calendarsSchema, resolveCalendars } from "./config.ts";
export type { CalendarsConfig } from "./config.ts";
export { instantAt, wallClock } from "./_zone.ts";
