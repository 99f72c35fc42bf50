/**
 * A per-script, per-metric baseline by hour of week: one value per local hour
 * (messages posted in the hour, restarts in the hour, the hour's peak memory,
 * its median heartbeat interval, a run's duration), kept for the current week
 * and the last {@linkcode BASELINE_WEEKS} weeks, in the site's time zone.
 *
 * A baseline is plain JSON ({@linkcode Baseline}), so the collector can keep it
 * in KV or PostgreSQL as is and read it back with {@linkcode baselineFrom}.
 * Its size is bounded: `(weeks + 1) × 168` numbers or nulls, whatever the age
 * of the script. At the default 8 weeks that is 1,512 slots, as JSON about
 * 3.1 KB when every hour holds a one-digit count, 4.6 KB for two digits,
 * 6.1 KB for three (memory under 1 GB: it is kept in whole MB; run durations
 * under 1,000 s: kept in whole seconds), and 7.6 KB when every slot is null
 * (keep no baseline for a metric a script has no data for).
 *
 * @module
 */

import { type Metric, METRICS } from "./metrics.ts";
import { localHour } from "./local_hour.ts";

/**
 * Past weeks kept per hour of week: two months, enough for a steady median
 * (eight values per hour) and short enough that a script whose work changed
 * (a new shift pattern, a moved schedule) settles into its new normal within
 * a month, when the old weeks are the minority.
 */
export const BASELINE_WEEKS = 8;

/** Hours in a week: the buckets of a baseline. */
export const HOURS_PER_WEEK = 168;

/** A baseline as stored: plain JSON. */
export interface Baseline {
  /** The format version, for stores that outlive this code. */
  version: 1;
  /** What the values measure. */
  metric: Metric;
  /** The site's IANA time zone: hours of the week are local hours there. */
  timezone: string;
  /** Past weeks kept besides the current one. */
  weeks: number;
  /** The newest local week written (see `localHour`), or null before the first value. */
  week: number | null;
  /**
   * `(weeks + 1) × 168` slots: local week `w`, hour of week `h` (0 is Monday
   * 00:00) at `(w mod (weeks + 1)) × 168 + h`. A value is in whole steps of its
   * metric (`METRICS[metric].step`: counts, MB, seconds); null is no data.
   */
  values: (number | null)[];
}

/** What {@linkcode createBaseline} needs. */
export interface BaselineOptions {
  /** What the values measure. */
  metric: Metric;
  /** The site's IANA time zone, such as `"Europe/Berlin"`. */
  timezone: string;
  /** Past weeks to keep; default {@linkcode BASELINE_WEEKS}. */
  weeks?: number;
}

/**
 * An empty baseline.
 *
 * @throws {RangeError} when `timezone` is not an IANA zone or `weeks` is not a whole number from 1 to 52.
 */
export function createBaseline(options: BaselineOptions): Baseline {
  const weeks = options.weeks ?? BASELINE_WEEKS;
  if (!Number.isInteger(weeks) || weeks < 1 || weeks > 52) {
    throw new RangeError(`Expected baseline weeks from 1 to 52, got ${weeks}`);
  }
  checkZone(options.timezone);
  return {
    version: 1,
    metric: options.metric,
    timezone: options.timezone,
    weeks,
    week: null,
    values: new Array((weeks + 1) * HOURS_PER_WEEK).fill(null),
  };
}

/**
 * Records the value of the local hour that `at` falls in (any instant within
 * it), in the metric's unit: a count, bytes or ms. Changes `baseline` in place.
 * Recording an hour again replaces its value, so a retried write does not
 * count twice. Record 0, not nothing, for an hour a script ran and posted
 * nothing; skip hours nothing is known about (its agent was offline).
 *
 * @returns false when the hour is older than the weeks kept (nothing changes).
 * @throws {RangeError} when `value` is negative or not finite.
 */
export function addHour(baseline: Baseline, at: number, value: number): boolean {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Expected a ${baseline.metric} value of zero or more, got ${value}`);
  }
  const { week, hour } = localHour(baseline.timezone, at);
  const rows = baseline.weeks + 1;
  const newest = baseline.week ?? week;
  if (week <= newest - rows) return false;
  for (let cleared = newest + 1; cleared <= Math.min(week, newest + rows); cleared++) {
    const start = row(cleared, rows) * HOURS_PER_WEEK;
    baseline.values.fill(null, start, start + HOURS_PER_WEEK);
  }
  baseline.week = Math.max(newest, week);
  baseline.values[row(week, rows) * HOURS_PER_WEEK + hour] = Math.round(
    value / METRICS[baseline.metric].step,
  );
  return true;
}

/**
 * The value recorded for local week `week`, hour of week `hour`, in the
 * metric's unit; null when none was recorded or the week is not kept.
 */
export function valueAt(baseline: Baseline, week: number, hour: number): number | null {
  const rows = baseline.weeks + 1;
  if (baseline.week === null || week > baseline.week || week <= baseline.week - rows) return null;
  const stored = baseline.values[row(week, rows) * HOURS_PER_WEEK + hour];
  return stored === null || stored === undefined ? null : stored * METRICS[baseline.metric].step;
}

/**
 * Checks a baseline read back from a store (parsed JSON).
 *
 * @throws {TypeError} when `value` is not a baseline, naming the first field that is wrong.
 */
export function baselineFrom(value: unknown): Baseline {
  const fail = (field: string, expected: string, got: unknown) =>
    new TypeError(`Invalid baseline: ${field} must be ${expected}, got ${JSON.stringify(got)}`);
  if (typeof value !== "object" || value === null) throw fail("the value", "an object", value);
  const b = value as Record<string, unknown>;
  if (b.version !== 1) throw fail("version", "1", b.version);
  if (typeof b.metric !== "string" || !Object.hasOwn(METRICS, b.metric)) {
    throw fail("metric", `one of ${Object.keys(METRICS).join(", ")}`, b.metric);
  }
  if (typeof b.timezone !== "string") throw fail("timezone", "an IANA zone", b.timezone);
  checkZone(b.timezone);
  if (!Number.isInteger(b.weeks) || (b.weeks as number) < 1 || (b.weeks as number) > 52) {
    throw fail("weeks", "a whole number from 1 to 52", b.weeks);
  }
  if (b.week !== null && !Number.isInteger(b.week)) {
    throw fail("week", "a whole number or null", b.week);
  }
  const size = ((b.weeks as number) + 1) * HOURS_PER_WEEK;
  if (!Array.isArray(b.values) || b.values.length !== size) {
    throw fail(
      "values",
      `an array of ${size}`,
      Array.isArray(b.values) ? b.values.length : b.values,
    );
  }
  const bad = b.values.findIndex((v) => v !== null && !(Number.isFinite(v) && v >= 0));
  if (bad >= 0) throw fail(`values[${bad}]`, "a number of zero or more or null", b.values[bad]);
  return value as Baseline;
}

function row(week: number, rows: number): number {
  return ((week % rows) + rows) % rows;
}

function checkZone(timezone: string): void {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch (cause) {
    throw new RangeError(
      `Unknown time zone ${JSON.stringify(timezone)}: expected an IANA zone like "Europe/Berlin"`,
      { cause },
    );
  }
}
