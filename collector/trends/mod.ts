/**
 * Trends and anomalies (issue 18), pure logic: per-script baselines by hour of
 * week ({@linkcode createBaseline}, {@linkcode addHour}), anomalies against
 * them ({@linkcode detect}, {@linkcode silence}); memory climbs projected to
 * a limit are in `shared/trends/` (the agent uses them too). No I/O and no
 * clock: times come in as ms since the epoch, baselines are plain JSON for the
 * caller to store. `synthetic.ts`: seeded posting shapes and a run of the
 * collector's checks over them, for the tests and `bench/anomaly_bench.ts`.
 *
 * @module
 */

export {
  addHour,
  type Baseline,
  BASELINE_WEEKS,
  baselineFrom,
  type BaselineOptions,
  createBaseline,
  HOURS_PER_WEEK,
  valueAt,
} from "./baseline.ts";
export {
  detect,
  type Detection,
  type DetectOptions,
  dispersion,
  MAD_SCALE,
  MAX_WINDOW_MS,
  MIN_WEEKS,
  type Observation,
  silence,
  THRESHOLD,
} from "./detect.ts";
export {
  type Floor,
  FLOORS,
  isMetric,
  type Metric,
  METRIC_NAMES,
  METRICS,
  type MetricSpec,
} from "./metrics.ts";
export { type LocalHour, localHour } from "./local_hour.ts";
export {
  mix,
  normal,
  poisson,
  postsInHour,
  seeded,
  type Shape,
  SHAPES,
  simulate,
  type SimulatedAlert,
  type SimulateOptions,
} from "./synthetic.ts";
