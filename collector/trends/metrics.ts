/**
 * The five per-script metrics a baseline can hold, and how each is read: its
 * unit, how hours add up over a window, which side is interesting, and the
 * least change worth an alert.
 *
 * @module
 */

/** What a baseline measures, one value per local hour. */
export type Metric = "messages" | "restarts" | "memory" | "heartbeat" | "duration";

/** Every metric, in a stable order. */
export const METRIC_NAMES: readonly Metric[] = [
  "messages",
  "restarts",
  "memory",
  "heartbeat",
  "duration",
];

/** The least deviation that can fire: the larger of `absolute` and `relative` × the usual value. */
export interface Floor {
  /** In the metric's unit: messages, restarts, bytes or ms. */
  absolute: number;
  /** A share of the usual value: 0.25 is a quarter of it. */
  relative: number;
}

/**
 * The least deviation from the usual value that raises an anomaly, per metric,
 * so that a series that never varies (MAD = 0) does not fire on a tiny change:
 *
 * - messages, 5 fewer: a script that usually posts under five messages in the
 *   window cannot look silent (that is also the "usually posts at least five"
 *   rule of falling silent).
 * - restarts, 5 more: one or two restarts are ordinary (a deploy, a token
 *   renewal) and a crash loop has its own alert at the agent; five more than
 *   usual in a window is a change of pattern.
 * - memory, 50 MB and a quarter more: the hourly peak of an interpreter
 *   wanders by tens of MB with its input; less than either is not news.
 * - heartbeat, 30 s and twice the usual interval: a script's pings wander
 *   with its loop and one late ping is weather; a stopped one is the
 *   dead-man's switch's (`heartbeat_timeout`) business.
 * - duration, 1 min and half again as long: scheduled runs vary with their
 *   input; a run 50 % and a minute longer than usual is worth a look.
 */
export const FLOORS: Readonly<Record<Metric, Floor>> = {
  messages: { absolute: 5, relative: 0 },
  restarts: { absolute: 5, relative: 0 },
  memory: { absolute: 50_000_000, relative: 0.25 },
  heartbeat: { absolute: 30_000, relative: 1 },
  duration: { absolute: 60_000, relative: 0.5 },
};

/** How a metric is stored and compared. */
export interface MetricSpec {
  /** The side that raises an anomaly: fewer messages, more of everything else. */
  direction: "low" | "high";
  /**
   * How the hours of a window add up: `"sum"` for counts (messages, restarts),
   * `"max"` for levels (the window's worst hour).
   */
  combine: "sum" | "max";
  /**
   * The stored step, in the metric's unit: the baseline keeps whole steps so
   * its JSON stays short (whole MB of memory, whole seconds of intervals and
   * durations; counts as they are).
   */
  step: number;
}

/** How each metric is stored and compared. */
export const METRICS: Readonly<Record<Metric, MetricSpec>> = {
  messages: { direction: "low", combine: "sum", step: 1 },
  restarts: { direction: "high", combine: "sum", step: 1 },
  memory: { direction: "high", combine: "max", step: 1_000_000 },
  heartbeat: { direction: "high", combine: "max", step: 1_000 },
  duration: { direction: "high", combine: "max", step: 1_000 },
};

/** Whether `value` names a metric. */
export function isMetric(value: unknown): value is Metric {
  return typeof value === "string" && (METRIC_NAMES as readonly string[]).includes(value);
}
