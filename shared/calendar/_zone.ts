/**
 * Conversion between instants and local wall-clock time in an IANA zone, with
 * nothing but `Intl.DateTimeFormat`.
 *
 * A wall-clock time is written as the number of milliseconds it would be since
 * the epoch if the zone were UTC ("wall ms"), so local dates and minutes come
 * out of plain division.
 *
 * @module
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * The cached formatter for `timezone`.
 *
 * @throws {RangeError} when `timezone` is not an IANA time zone.
 */
export function zoneFormatter(timezone: string): Intl.DateTimeFormat {
  let found = formatters.get(timezone);
  if (found === undefined) {
    found = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(timezone, found);
  }
  return found;
}

/** The wall-clock time of instant `at` in `timezone`, in wall ms. */
export function wallClock(timezone: string, at: number): number {
  return at + offsetAt(timezone, at);
}

/**
 * The instant at which the clock in `timezone` reads `wall` (wall ms).
 *
 * A time the clocks skip (02:30 on a spring-forward night) maps forward to the
 * first instant after the gap, the moment the clocks jumped; a time they show
 * twice (01:30 on a fall-back night) maps to its first occurrence.
 */
export function instantAt(timezone: string, wall: number): number {
  // Offsets a day either side bracket any single transition near `wall`.
  const before = offsetAt(timezone, wall - 86_400_000);
  const after = offsetAt(timezone, wall + 86_400_000);
  const candidates = [wall - before, wall - after].sort((a, b) => a - b);
  for (const candidate of candidates) {
    if (wallClock(timezone, candidate) === wall) return candidate;
  }
  // In a gap: the first instant whose offset is no longer the earlier one.
  let low = candidates[0];
  let high = candidates[1];
  const lowOffset = offsetAt(timezone, low);
  while (high - low > 1000) {
    const middle = Math.floor((low + high) / 2000) * 1000;
    if (middle <= low) break;
    if (offsetAt(timezone, middle) === lowOffset) low = middle;
    else high = middle;
  }
  return high;
}

/** Milliseconds to add to UTC to read the wall clock of `timezone` at `at`. */
function offsetAt(timezone: string, at: number): number {
  const second = Math.floor(at / 1000) * 1000;
  const parts = zoneFormatter(timezone).formatToParts(second);
  const part = (type: Intl.DateTimeFormatPartTypes) =>
    Number(parts.find((candidate) => candidate.type === type)?.value);
  const wall = Date.UTC(
    part("year"),
    part("month") - 1,
    part("day"),
    part("hour") % 24,
    part("minute"),
    part("second"),
  );
  return wall - second;
}
