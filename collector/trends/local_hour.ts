/**
 * Local hours in a site's IANA time zone: which hour of which week an instant
 * falls in, read through `Intl.DateTimeFormat` so daylight-saving changes need
 * no arithmetic here.
 *
 * Weeks are numbered from Monday 1970-01-05 (week 1) in local dates; hours of
 * the week run from 0 (Monday 00:00) to 167 (Sunday 23:00).
 *
 * @module
 */
import { wallClock } from "../../shared/calendar/mod.ts";

/** One hour, in ms. */
export const HOUR_MS = 3_600_000;

const DAY_MS = 86_400_000;

/** Weekday names as messages use them, 0 Monday … 6 Sunday. */
export const WEEKDAY_NAMES = [
  "Monday",
  "Tuesday",
  "Wednesday",
  "Thursday",
  "Friday",
  "Saturday",
  "Sunday",
] as const;

/** The local hour an instant falls in. */
export interface LocalHour {
  /** Local week number: Mondays since 1970-01-05, that week being 1. */
  week: number;
  /** Hour of the week, 0 (Monday 00:00) to 167 (Sunday 23:00). */
  hour: number;
  /** The instant (ms since the epoch) this local hour began. */
  start: number;
}

/** Recent answers per zone: a window of a few hours asks about the same hours again and again. */
const RECENT = 8;
const recent = new Map<string, LocalHour[]>();

/**
 * The local hour `at` (ms since the epoch) falls in, in `timezone`.
 *
 * @throws {RangeError} when `timezone` is not an IANA time zone or `at` is not finite.
 */
export function localHour(timezone: string, at: number): LocalHour {
  if (!Number.isFinite(at)) {
    throw new RangeError(`Expected a time in ms since the epoch, got ${at}`);
  }
  const seen = recent.get(timezone);
  const hit = seen?.find((entry) => entry.start <= at && at < entry.start + HOUR_MS);
  if (hit !== undefined) return hit;
  const found = readLocalHour(timezone, at);
  const list = seen ?? [];
  if (list.length >= RECENT) list.shift();
  list.push(found);
  recent.set(timezone, list);
  return found;
}

/** Local `HH:MM` of `at` in `timezone`, as messages print it. */
export function localClock(timezone: string, at: number): string {
  const { hour, start } = localHour(timezone, at);
  return `${pad(hour % 24)}:${pad(Math.floor((at - start) / 60_000))}`;
}

function readLocalHour(timezone: string, at: number): LocalHour {
  const second = Math.floor(at / 1_000) * 1_000;
  const wall = wallClock(timezone, second);
  const start = second - (wall % HOUR_MS);
  const day = Math.floor(wall / DAY_MS);
  const weekday = (((day + 3) % 7) + 7) % 7;
  return {
    week: Math.floor((day + 3) / 7),
    hour: weekday * 24 + new Date(wall).getUTCHours(),
    start,
  };
}

function pad(value: number): string {
  return String(value).padStart(2, "0");
}
