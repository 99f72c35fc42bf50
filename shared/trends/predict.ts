/**
 * Where a steady memory climb is heading: a least-squares line through recent
 * samples, projected to a limit (the script's `memory_restart` or
 * `memory_warn`): `"grows ~30 MB/h; reaches 500 MB in about 3 h"`.
 *
 * Only a steady climb is projected: enough samples over a long enough span,
 * a line that explains most of the variation (R²), a slope that matters, and
 * a limit near enough that a straight line still says something about it. A
 * flat, noisy series and a garbage collector's sawtooth give no projection.
 *
 * @module
 */

import { formatBytes } from "../../shared/config/mod.ts";
import { formatSpan } from "./wording.ts";

const HOUR_MS = 3_600_000;

/** A memory sample: when (ms since the epoch) and how much (bytes). */
export interface MemorySample {
  at: number;
  bytes: number;
}

/** Where the climb is heading. */
export interface Growth {
  /** The fitted slope. */
  bytesPerHour: number;
  /** When the fitted line reaches the limit, ms since the epoch. */
  reachesAt: number;
  /** For people: `"grows ~30 MB/h; reaches 500 MB in about 3 h"`. */
  message: string;
}

/**
 * The least span of samples: an hour. Shorter climbs are start-up (imports,
 * caches warming) or one burst of work more often than a leak.
 */
export const MIN_SPAN_MS = HOUR_MS;

/** The fewest samples: below six points a line fits anything. */
export const MIN_SAMPLES = 6;

/**
 * The least R² (share of the variation the line explains): 0.8 separates a
 * climb with noise on it from noise with a drift, and a sawtooth (memory
 * freed every few minutes) stays well below it.
 */
export const MIN_R2 = 0.8;

/**
 * The least slope, 1 MB/h: slower growth takes days to matter, and a day is
 * beyond what is projected ({@linkcode MAX_AHEAD_MS}).
 */
export const MIN_BYTES_PER_HOUR = 1_000_000;

/**
 * The farthest projection, a day: beyond it the warning is not urgent and
 * the line has usually bent by then (a cache filled, a nightly restart).
 */
export const MAX_AHEAD_MS = 24 * HOUR_MS;

/**
 * How far ahead a line may be projected, in multiples of the span it was
 * fitted on: four. An hour of climbing says little about the next day.
 */
export const MAX_AHEAD_SPANS = 4;

/**
 * Projects `samples` (any order; those after `now` are ignored) to
 * `limitBytes`. Returns null unless memory climbs steadily toward a limit it
 * has not reached yet: too few samples or too short a span, R² under
 * {@linkcode MIN_R2}, a slope under {@linkcode MIN_BYTES_PER_HOUR}, already
 * at the limit (the agent's own `memory_warn` or `memory_restart` says so),
 * or further away than {@linkcode MAX_AHEAD_MS} or {@linkcode MAX_AHEAD_SPANS} spans.
 *
 * @throws {RangeError} when `limitBytes` is not a positive number.
 */
export function projectGrowth(
  samples: readonly MemorySample[],
  limitBytes: number,
  now: number,
): Growth | null {
  if (!Number.isFinite(limitBytes) || limitBytes <= 0) {
    throw new RangeError(`Expected a memory limit in bytes above zero, got ${limitBytes}`);
  }
  const points = samples.filter((sample) => sample.at <= now);
  if (points.length < MIN_SAMPLES) return null;
  const first = Math.min(...points.map((point) => point.at));
  const span = Math.max(...points.map((point) => point.at)) - first;
  if (span < MIN_SPAN_MS) return null;
  const fit = leastSquares(points.map((point) => [(point.at - first) / HOUR_MS, point.bytes]));
  if (fit.r2 < MIN_R2 || fit.slope < MIN_BYTES_PER_HOUR) return null;
  const hoursNow = (now - first) / HOUR_MS;
  const hoursAtLimit = (limitBytes - fit.intercept) / fit.slope;
  const ahead = (hoursAtLimit - hoursNow) * HOUR_MS;
  if (ahead <= 0 || ahead > Math.min(MAX_AHEAD_MS, MAX_AHEAD_SPANS * span)) return null;
  return {
    bytesPerHour: fit.slope,
    reachesAt: now + ahead,
    message: `grows ~${formatBytes(roughly(fit.slope))}/h; reaches ${
      formatBytes(limitBytes)
    } in about ${formatSpan(roundAhead(ahead))}`,
  };
}

function leastSquares(
  points: [number, number][],
): { slope: number; intercept: number; r2: number } {
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxx += (x - meanX) ** 2;
    sxy += (x - meanX) * (y - meanY);
    syy += (y - meanY) ** 2;
  }
  const slope = sxy / sxx;
  const r2 = syy === 0 ? 0 : (sxy * sxy) / (sxx * syy);
  return { slope, intercept: meanY - slope * meanX, r2 };
}

/** Two significant digits: 31.4 MB/h reads "~31 MB/h". */
function roughly(value: number): number {
  const scale = 10 ** (Math.floor(Math.log10(value)) - 1);
  return Math.round(value / scale) * scale;
}

/** "About": to 5 minutes under an hour, half hours under ten, whole hours above. */
function roundAhead(ms: number): number {
  const step = ms < HOUR_MS ? 300_000 : ms < 10 * HOUR_MS ? HOUR_MS / 2 : HOUR_MS;
  return Math.max(step, Math.round(ms / step) * step);
}
