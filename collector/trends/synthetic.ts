/**
 * Synthetic message series for the trend tests and `bench/anomaly_bench.ts`:
 * a seeded random source, a few realistic posting shapes, and a run of the
 * collector's checks over a stretch of hours.
 *
 * Everything is deterministic in its seed: the posts of an hour depend only
 * on the seed and the hour, so a run can be repeated or cut short (a script
 * falling silent) and the hours before stay the same.
 *
 * @module
 */

import { normal, seeded } from "../../shared/trends/mod.ts";
import { addHour, type Baseline } from "./baseline.ts";
import { detect, type Detection, dispersion, silence } from "./detect.ts";
import { HOUR_MS, type LocalHour, localHour } from "./local_hour.ts";

/** Mixes numbers into one seed. */
export function mix(...parts: number[]): number {
  let hash = 2166136261;
  for (const part of parts) {
    hash = Math.imul(hash ^ (part | 0), 16777619);
    hash = Math.imul(hash ^ Math.floor(part / 4294967296), 16777619);
  }
  return hash >>> 0;
}

/** A Poisson draw: by multiplication below 30, by the normal approximation above. */
export function poisson(random: () => number, mean: number): number {
  if (mean <= 0) return 0;
  if (mean >= 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(random)));
  const limit = Math.exp(-mean);
  let count = 0;
  for (let product = random(); product > limit; product *= random()) count += 1;
  return count;
}

/** How a script posts. */
export interface Shape {
  /** Name in the bench's table. */
  name: string;
  /** Mean messages in a local hour: weekday 0 (Monday) to 6, hour 0 to 23. */
  rate(weekday: number, hour: number): number;
  /** Mean messages per burst; 1 is one message at a time (a Poisson stream). */
  burst: number;
  /** Posts on a fixed beat (every 60 / rate minutes) instead of at random. */
  regular?: boolean;
}

const weekday = (day: number) => day < 5;

/** The posting shapes of the bench, from busiest to quietest. */
export const SHAPES: Readonly<Record<string, Shape>> = {
  steady: {
    name: "steady busy",
    rate: (day, hour) => (hour >= 6 && hour < 22 ? (weekday(day) ? 40 : 25) : 12),
    burst: 1,
  },
  bursty: {
    name: "bursty",
    rate: (day, hour) => (hour >= 6 && hour < 22 ? (weekday(day) ? 36 : 18) : 6),
    burst: 6,
  },
  shifts: {
    name: "quiet nights",
    rate: (day, hour) => (weekday(day) && hour >= 7 && hour < 19 ? 20 : 0.1),
    burst: 1,
  },
  clockwork: {
    name: "every 15 min",
    rate: () => 4,
    burst: 1,
    regular: true,
  },
  low: {
    name: "low volume",
    rate: (day, hour) => (weekday(day) && hour >= 8 && hour < 18 ? 3 : 0.2),
    burst: 1,
  },
};

/**
 * Day-to-day variation: every local day's volume is scaled by a factor
 * around 1 (log-normal, σ 0.1), the busy and slow days of a warehouse.
 */
const DAY_SIGMA = 0.1;

/** The posts (ms since the epoch, ascending) of one local hour. */
export function postsInHour(shape: Shape, seed: number, hour: LocalHour): number[] {
  const random = seeded(mix(seed, hour.start));
  const day = Math.floor(hour.hour / 24);
  const mean = shape.rate(day, hour.hour % 24);
  if (shape.regular) {
    const every = HOUR_MS / mean;
    return Array.from({ length: mean }, (_, i) => hour.start + i * every + random() * 60_000)
      .sort((a, b) => a - b);
  }
  const dayFactor = Math.exp(DAY_SIGMA * normal(seeded(mix(seed, hour.week, day))));
  const posts: number[] = [];
  const bursts = poisson(random, (mean * dayFactor) / shape.burst);
  for (let b = 0; b < bursts; b++) {
    const at = hour.start + Math.floor(random() * (HOUR_MS - 60_000));
    const size = shape.burst === 1
      ? 1
      : 1 + Math.floor(Math.log(1 - random()) / Math.log(1 - 1 / shape.burst));
    for (let m = 0; m < size; m++) posts.push(at + m * 1_000);
  }
  return posts.sort((a, b) => a - b);
}

/** What {@linkcode simulate} does. */
export interface SimulateOptions {
  /** A `"messages"` baseline; the simulated hours are added to it. */
  baseline: Baseline;
  shape: Shape;
  seed: number;
  /** The first hour (any instant within it) and the end of the run, ms since the epoch. */
  from: number;
  to: number;
  /** No posts from this moment on: the script fell silent. */
  silentFrom?: number;
  /** Checks before this moment only feed the baseline; default `from`. */
  alertFrom?: number;
  /** How often the silence check runs; default 10 minutes. */
  checkEveryMs?: number;
}

/** An alert raised during {@linkcode simulate}: a check that fired after one that did not. */
export interface SimulatedAlert {
  at: number;
  /** `"silence"`: nothing since the last post; `"hour"`: the last whole hour's count. */
  rule: "silence" | "hour";
  detection: Detection;
}

/**
 * Runs the collector's message checks hour by hour: every `checkEveryMs`, the
 * silence since the last post (skipped while the last post is more recent
 * than that); at each hour's end, the hour's count; then the hour goes into
 * the baseline, and at the end of each local day the dispersion is computed
 * again. Returns the alerts raised (one per episode of each rule).
 */
export function simulate(options: SimulateOptions): SimulatedAlert[] {
  const { baseline, shape, seed, to } = options;
  const every = options.checkEveryMs ?? 600_000;
  const silentFrom = options.silentFrom ?? Infinity;
  const alertFrom = options.alertFrom ?? options.from;
  const alerts: SimulatedAlert[] = [];
  const raised = { silence: false, hour: false };
  const judge = (rule: "silence" | "hour", at: number, detection: Detection | null) => {
    const fires = detection !== null && detection.anomaly && at >= alertFrom;
    if (fires && !raised[rule]) alerts.push({ at, rule, detection });
    raised[rule] = fires;
  };
  let lastPost: number | null = null;
  let ratio = dispersion(baseline);
  for (let hour = localHour(baseline.timezone, options.from); hour.start < to;) {
    const end = hour.start + HOUR_MS;
    const posts = postsInHour(shape, seed, hour).filter((at) => at < silentFrom);
    let next = 0;
    for (let now = hour.start + every; now <= end; now += every) {
      while (next < posts.length && posts[next] < now) lastPost = posts[next++];
      const quiet = lastPost === null || now - lastPost >= every;
      const check = quiet ? detect(baseline, silence(lastPost, now), { dispersion: ratio }) : null;
      judge("silence", now, check);
    }
    lastPost = posts.at(-1) ?? lastPost;
    const count = posts.length;
    judge(
      "hour",
      end,
      detect(baseline, { from: hour.start, to: end, value: count }, { dispersion: ratio }),
    );
    addHour(baseline, hour.start, count);
    if (hour.hour % 24 === 23) ratio = dispersion(baseline);
    hour = localHour(baseline.timezone, end);
  }
  return alerts;
}

export { normal, seeded };
