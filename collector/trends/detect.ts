/**
 * Anomalies against a {@linkcode Baseline}: is a window's value far outside
 * what the same local hours held in past weeks?
 *
 * The same window of each past week (same hours of the week, same share of
 * each hour) gives one value; their median is the usual value and 1.4826 ×
 * their median absolute deviation (MAD) its spread, both robust to the odd
 * holiday or outage in the history. An observation is an anomaly when it lies
 * on the metric's interesting side (fewer messages; more restarts, memory,
 * heartbeat interval, run time) by at least {@linkcode THRESHOLD} spreads and
 * by at least the metric's {@linkcode FLOORS} entry, and only once
 * {@linkcode MIN_WEEKS} past weeks have data for every hour of the window.
 *
 * Counts are not trusted to vary less than chance makes them: four to eight
 * past values give a shaky MAD, so a count's spread is at least
 * √(dispersion × usual), the dispersion pooled over all 168 hours of the week
 * ({@linkcode dispersion}: about 1 for messages posted independently, more
 * for bursts, near 0 for a script posting like clockwork). A silent window
 * then fires only where an ordinary zero has a chance under e^-(THRESHOLD²),
 * about 1 in 200,000, whatever the bursts look like (for messages in bursts
 * that chance is at most e^-(usual / dispersion)). The part of a window that
 * covers an hour only in part gets at least Poisson noise: the baseline knows
 * each hour's total, not when within the hour the messages came.
 *
 * Falling silent is the observation "0 messages since the last one"
 * ({@linkcode silence}): checked every few minutes, it fires as soon as the
 * silent span usually holds enough messages: within the hour for a busy
 * script, after about two hours for one posting every 15 minutes, after
 * hours for a bursty or quiet one (`bench/anomaly_bench.ts` measures it).
 *
 * @module
 */

import { formatBytes, formatDuration } from "../../shared/config/mod.ts";
import { type Baseline, HOURS_PER_WEEK, valueAt } from "./baseline.ts";
import { type Floor, FLOORS, type Metric, METRICS } from "./metrics.ts";
import { HOUR_MS, localClock, localHour, WEEKDAY_NAMES } from "./local_hour.ts";
import { formatSpan, plural } from "../../shared/trends/mod.ts";

/** Turns a MAD into a standard deviation's equivalent for normally distributed values. */
export const MAD_SCALE = 1.4826;

/**
 * Spreads between the usual value and an anomaly: 3.5, the common cut for
 * robust z-scores (Iglewicz and Hoaglin). It is widened for the doubt in a
 * median of few weeks (× √(1 + π / 2n): 18 % at four weeks, 9 % at eight).
 * For a silent window it means an ordinary zero has a chance under e^-12.25.
 * At this value `bench/anomaly_bench.ts` counts about one false alarm per
 * 1,000 script-weeks (the bar is one per script-week: across a fleet of
 * 10,000 scripts that would be 10,000 a week) and catches a busy script's
 * silence in 45 minutes (median).
 */
export const THRESHOLD = 3.5;

/**
 * Past weeks with data for the window before anything fires: a median of four
 * is the least that one odd week cannot move far, and a month is how long a
 * new script is left to find its rhythm.
 */
export const MIN_WEEKS = 4;

/**
 * The longest window: six hours. A busy script's silence shows within the
 * hour, but a bursty or quiet one's takes hours to tell from its ordinary
 * gaps (a burst of six messages once an hour can go two hours without one);
 * longer than six hours, an alert is rarely still useful.
 */
export const MAX_WINDOW_MS = 6 * HOUR_MS;

/** A value observed over a window. */
export interface Observation {
  /** Start of the window, ms since the epoch. */
  from: number;
  /** End of the window (exclusive), after `from` and at most {@linkcode MAX_WINDOW_MS} later. */
  to: number;
  /**
   * The window's value in the metric's unit, aggregated as the baseline's
   * hours are: the total for counts (messages, restarts), the largest hourly
   * value for levels (memory in bytes, heartbeat interval and run duration in ms).
   */
  value: number;
}

/** Settings of {@linkcode detect}; each defaults to the constant of the same name. */
export interface DetectOptions {
  /** Spreads between the usual value and an anomaly; default {@linkcode THRESHOLD}. */
  threshold?: number;
  /** Past weeks needed before anything fires; default {@linkcode MIN_WEEKS}. */
  minWeeks?: number;
  /** The least deviation that fires; default the metric's entry in {@linkcode FLOORS}. */
  floor?: Floor;
  /**
   * The count metric's {@linkcode dispersion}, when the caller keeps it
   * (it changes only when an hour is added); computed from `baseline` otherwise.
   */
  dispersion?: number;
}

/** What {@linkcode detect} concluded. */
export interface Detection {
  /** True when the value is far outside its baseline on the metric's interesting side. */
  anomaly: boolean;
  /** `"history"` when too few past weeks have data to judge. */
  status: "anomaly" | "normal" | "history";
  /** The baseline's metric. */
  metric: Metric;
  /** The observed value, in the metric's unit. */
  observed: number;
  /** Past weeks with data for every hour of the window. */
  weeks: number;
  /** Median of the same window in those weeks; null with status `"history"`. */
  usual: number | null;
  /**
   * Scaled MAD (1.4826 × MAD) of those weeks, for counts at least the noise
   * chance gives them (see {@linkcode dispersion}); null with status `"history"`.
   */
  spread: number | null;
  /**
   * The value at which an observation becomes an anomaly (at or below it for
   * messages, at or above it otherwise); null with status `"history"`. Below
   * zero means no count of messages can be.
   */
  limit: number | null;
  /**
   * For people: `"posted 0 messages in 2 h; usually 40 ± 8 on Fridays at
   * 14:00"` (the ± is `spread`; weekday and time are the window's start
   * in the site's zone), or `"…; no baseline yet (2 of 4 weeks)"`.
   */
  message: string;
}

/**
 * Compares `observation` with the same window of past weeks in `baseline`.
 *
 * @throws {RangeError} when the window is empty, longer than {@linkcode MAX_WINDOW_MS}, or the value is negative or not finite.
 */
export function detect(
  baseline: Baseline,
  observation: Observation,
  options: DetectOptions = {},
): Detection {
  const { from, to, value } = observation;
  if (!(to > from) || to - from > MAX_WINDOW_MS) {
    throw new RangeError(
      `Expected a window of up to ${formatSpan(MAX_WINDOW_MS)}, got ${from} to ${to}`,
    );
  }
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Expected a ${baseline.metric} value of zero or more, got ${value}`);
  }
  const spec = METRICS[baseline.metric];
  const minWeeks = options.minWeeks ?? MIN_WEEKS;
  const { totals, partials } = pastWindows(baseline, from, to);
  const base = { metric: baseline.metric, observed: value, weeks: totals.length };
  const what = describeValue(baseline.metric, value, to - from);
  if (totals.length < minWeeks) {
    return {
      ...base,
      anomaly: false,
      status: "history",
      usual: null,
      spread: null,
      limit: null,
      message: `${what}; no baseline yet (${totals.length} of ${minWeeks} weeks)`,
    };
  }
  const usual = median(totals);
  const mad = MAD_SCALE * median(totals.map((total) => Math.abs(total - usual)));
  const spread = spec.combine === "sum"
    ? Math.max(mad, countNoise(options.dispersion ?? dispersion(baseline), totals, partials))
    : mad;
  const floor = options.floor ?? FLOORS[baseline.metric];
  // The median of n weeks misses the true usual value by about √(π / 2n) spreads.
  const unsure = Math.sqrt(1 + Math.PI / (2 * totals.length));
  const needed = Math.max(
    (options.threshold ?? THRESHOLD) * spread * unsure,
    floor.absolute,
    floor.relative * usual,
  );
  const low = spec.direction === "low";
  const deviation = low ? usual - value : value - usual;
  const anomaly = deviation > 0 && deviation >= needed;
  const { hour } = localHour(baseline.timezone, from);
  const when = `on ${WEEKDAY_NAMES[Math.floor(hour / 24)]}s at ${
    localClock(baseline.timezone, from)
  }`;
  return {
    ...base,
    anomaly,
    status: anomaly ? "anomaly" : "normal",
    usual,
    spread,
    limit: low ? usual - needed : usual + needed,
    message: `${what}; usually ${describeUsual(baseline.metric, usual, spread)} ${when}`,
  };
}

/**
 * The observation that nothing was posted since `lastAt` (ms since the
 * epoch; null if never): the silent span up to `now`, at most
 * {@linkcode MAX_WINDOW_MS}, with the value 0. Checked every few minutes
 * against a `"messages"` baseline, it catches a script falling silent.
 *
 * @throws {RangeError} when `lastAt` is not before `now`.
 */
export function silence(lastAt: number | null, now: number): Observation {
  if (lastAt !== null && !(lastAt < now)) {
    throw new RangeError(`Expected the last message before now (${now}), got ${lastAt}`);
  }
  return { from: Math.max(lastAt ?? -Infinity, now - MAX_WINDOW_MS), to: now, value: 0 };
}

/**
 * How much more than chance a count metric varies: the mean, over hours of
 * the week with a usual count of at least 3 in at least {@linkcode MIN_WEEKS}
 * weeks, of (scaled MAD)² / median (a median of these skewed ratios runs
 * low). About 1 for messages posted independently (a Poisson stream), more
 * for bursts (a burst of six messages counts six times), near 0 for a script
 * posting like clockwork; 1 when no hour has enough data. Pooled over the
 * week, it is far steadier than the spread of one hour's four to eight past
 * values. It changes only as hours are added: a caller checking often can
 * compute it once a day and pass it in ({@linkcode DetectOptions.dispersion}).
 */
export function dispersion(baseline: Baseline): number {
  const newest = baseline.week;
  if (newest === null) return 1;
  let variance = 0;
  let total = 0;
  const values: number[] = [];
  for (let hour = 0; hour < HOURS_PER_WEEK; hour++) {
    values.length = 0;
    for (let back = 0; back <= baseline.weeks; back++) {
      const value = valueAt(baseline, newest - back, hour);
      if (value !== null) values.push(value);
    }
    if (values.length < MIN_WEEKS) continue;
    const usual = median(values);
    if (usual < DISPERSION_MIN_USUAL) continue;
    const spread = MAD_SCALE * median(values.map((value) => Math.abs(value - usual)));
    variance += spread * spread;
    total += usual;
  }
  return total === 0 ? 1 : variance / total;
}

const DISPERSION_MIN_USUAL = 3;

/**
 * The spread chance alone gives a window's count: the dispersion times the
 * usual count of its whole hours, and at least Poisson noise on the hours it
 * covers in part (when within an hour the messages come is not known).
 */
function countNoise(ratio: number, totals: number[], partials: number[]): number {
  const partial = median(partials);
  const whole = Math.max(0, median(totals) - partial);
  return Math.sqrt(ratio * whole + Math.max(ratio, 1) * partial);
}

/** The window's value in each past week with data: totals, and the part from hours covered in part. */
function pastWindows(
  baseline: Baseline,
  from: number,
  to: number,
): { totals: number[]; partials: number[] } {
  const sum = METRICS[baseline.metric].combine === "sum";
  const pieces: { week: number; hour: number; share: number }[] = [];
  for (let at = from; at < to;) {
    const { week, hour, start } = localHour(baseline.timezone, at);
    const end = Math.min(to, start + HOUR_MS);
    pieces.push({ week, hour, share: (end - at) / HOUR_MS });
    at = end;
  }
  const totals: number[] = [];
  const partials: number[] = [];
  for (let back = 1; back <= baseline.weeks; back++) {
    let total = 0;
    let partial = 0;
    let found = 0;
    for (const piece of pieces) {
      const past = valueAt(baseline, piece.week - back, piece.hour);
      if (past === null) continue;
      found += 1;
      if (!sum) total = Math.max(total, past);
      else if (piece.share >= 1) total += past;
      else {
        total += past * piece.share;
        partial += past * piece.share;
      }
    }
    if (sum ? found === pieces.length : found > 0) {
      totals.push(total);
      partials.push(partial);
    }
  }
  return { totals, partials };
}

function describeValue(metric: Metric, value: number, span: number): string {
  const during = `in ${formatSpan(span)}`;
  switch (metric) {
    case "messages":
      return `posted ${plural(value, "message")} ${during}`;
    case "restarts":
      return `restarted ${plural(value, "time")} ${during}`;
    case "memory":
      return `peaked at ${formatBytes(value)} ${during}`;
    case "heartbeat":
      return `heartbeats ${formatDuration(value)} apart ${during}`;
    case "duration":
      return `ran for ${formatDuration(value)}`;
  }
}

function describeUsual(metric: Metric, usual: number, spread: number): string {
  if (metric === "messages" || metric === "restarts") {
    // Both to the usual value's precision: "40 ± 8", "4.5 ± 1.5".
    const digits = usual >= 10 ? 0 : 1;
    const count = (value: number) => String(Number(value.toFixed(digits)));
    return `${count(usual)} ± ${count(spread)}`;
  }
  const format = metric === "memory" ? formatBytes : formatDuration;
  return `${format(usual)} ± ${spread === 0 ? "0" : format(spread)}`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
