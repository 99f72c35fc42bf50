/**
 * Uptime of scripts, from their state changes and their agents' presence.
 *
 * Each moment of a script's life falls in one bucket: **up** (starting,
 * running, stopping), **down** (backoff, crash-looping, failed,
 * waiting-for-token), **idle** (stopped, exited or scheduled: switched off,
 * done, or a scheduled script between runs) or **unknown** (its agent was offline, or
 * no state is known yet). Uptime % is up / (up + down): idle and unknown
 * time count for neither.
 *
 * Whole UTC days older than today are rolled up once ({@linkcode rollUpDays})
 * and kept past the events' retention; a window uses a day's rollup when it
 * covers the whole day, and the state changes otherwise.
 *
 * @module
 */

import type { Store } from "../store/store.ts";
import type { DayRollup, PresenceMark, Transition } from "../store/history.ts";

/** One day, in ms. */
export const DAY_MS = 86_400_000;

/** Where each moment of a script's life is counted. */
export type Bucket = "up" | "down" | "idle" | "unknown";

const BUCKETS: Record<string, Bucket> = {
  starting: "up",
  running: "up",
  stopping: "up",
  backoff: "down",
  "crash-looping": "down",
  failed: "down",
  "waiting-for-token": "down",
  stopped: "idle",
  exited: "idle",
  scheduled: "idle",
};

/** The bucket of a state the agent reports (unknown for states this collector does not know). */
export function bucketOf(state: string | null): Bucket {
  return state === null ? "unknown" : BUCKETS[state] ?? "unknown";
}

/** A stretch of time in one state; `state` null while unknown (agent offline, or before any). */
export interface Segment {
  from: number;
  to: number;
  state: string | null;
}

/** The uptime of a script over a window. */
export interface Uptime {
  upMs: number;
  downMs: number;
  idleMs: number;
  unknownMs: number;
  /** up / (up + down); null when the script was neither. */
  ratio: number | null;
  /** Starts after a crash (from backoff or crash-looping), as the agent counts restarts. */
  restarts: number;
}

/** Which script, over `[since, until)` (ms). */
export interface UptimeQuery {
  site: string;
  host: string;
  script: string;
  since: number;
  until: number;
  /** The purge's cut-off, when the caller read it already (once for a pass over many scripts). */
  purgedBefore?: number;
  /**
   * The agent's presence marks over the window (`store.history.presence` from the window's
   * start after the purge's cut-off), when the caller read them already (once per agent).
   */
  presence?: readonly PresenceMark[];
}

/**
 * The state segments of a script over `[since, until)`: its transitions
 * (with the last one before `since`) cut by its agent's offline stretches.
 */
export function segments(
  transitions: readonly Transition[],
  presence: readonly PresenceMark[],
  since: number,
  until: number,
): Segment[] {
  const points = [
    ...transitions.map((t) => ({ at: t.at, order: 0, apply: (s: Walk) => (s.state = t.state) })),
    ...presence.map((p) => ({ at: p.at, order: 1, apply: (s: Walk) => (s.online = p.online) })),
  ].sort((a, b) => a.at - b.at || a.order - b.order);
  // An agent with no presence mark before the window was online (it has a record at all).
  const walk: Walk = { state: null, online: true };
  const out: Segment[] = [];
  let cursor = since;
  const emit = (to: number) => {
    if (to <= cursor) return;
    const state = walk.online ? walk.state : null;
    const last = out.at(-1);
    if (last !== undefined && last.state === state && last.to === cursor) last.to = to;
    else out.push({ from: cursor, to, state });
    cursor = to;
  };
  for (const point of points) {
    if (point.at >= until) break;
    if (point.at > since) emit(point.at);
    point.apply(walk);
  }
  emit(until);
  return out;
}

interface Walk {
  state: string | null;
  online: boolean;
}

/** The states a start counts as a restart from: the agent restarting a script that died. */
const RESTART_FROM = new Set(["backoff", "crash-looping"]);

/**
 * When the starts after a crash in `[since, until)` were: from backoff or crash-looping to
 * starting, and the retries within a crash loop (which stays crash-looping).
 */
export function restartTimes(
  transitions: readonly Transition[],
  since: number,
  until: number,
): number[] {
  const out: number[] = [];
  for (const t of transitions) {
    const start = (t.state === "starting" && RESTART_FROM.has(t.from ?? "")) || t.retry === true;
    if (t.at >= since && t.at < until && start) out.push(t.at);
  }
  return out;
}

/** Sums `segments` into buckets; `restarts` counts starts after a crash ({@linkcode restartTimes}). */
export function summarize(
  parts: readonly Segment[],
  transitions: readonly Transition[],
  since: number,
  until: number,
): Omit<Uptime, "ratio"> {
  const sum = { upMs: 0, downMs: 0, idleMs: 0, unknownMs: 0, restarts: 0 };
  for (const part of parts) sum[`${bucketOf(part.state)}Ms`] += part.to - part.from;
  sum.restarts = restartTimes(transitions, since, until).length;
  return sum;
}

function withRatio(sum: Omit<Uptime, "ratio">): Uptime {
  const counted = sum.upMs + sum.downMs;
  return { ...sum, ratio: counted === 0 ? null : sum.upMs / counted };
}

/**
 * The raw history of a window: its transitions and segments. What the
 * purge took (before its cut-off) is unknown.
 */
async function rawHistory(store: Store, q: UptimeQuery) {
  const cutoff = q.purgedBefore ?? await store.history.purgedBefore();
  const since = Math.min(Math.max(q.since, cutoff), q.until);
  const [transitions, presence] = await Promise.all([
    store.history.transitions(q.site, q.host, q.script, since, q.until),
    q.presence ?? store.history.presence(q.site, q.host, since, q.until),
  ]);
  return { transitions, parts: partsOf(transitions, presence, q.since, since, q.until) };
}

/**
 * {@linkcode segments} over `[from, until)`, and unknown from `since` to `from` (the purge's
 * cut-off, when it is later than the window's start).
 */
export function partsOf(
  transitions: readonly Transition[],
  presence: readonly PresenceMark[],
  since: number,
  from: number,
  until: number,
): Segment[] {
  const parts = segments(transitions, presence, from, until);
  if (from > since) parts.unshift({ from: since, to: from, state: null });
  return parts;
}

/** A window's uptime from the raw history (no rollups). */
async function rawUptime(store: Store, q: UptimeQuery): Promise<Omit<Uptime, "ratio">> {
  const { transitions, parts } = await rawHistory(store, q);
  return summarize(parts, transitions, q.since, q.until);
}

/** The state segments of a script over a window, for its timeline. */
export async function scriptSegments(store: Store, q: UptimeQuery): Promise<Segment[]> {
  return (await rawHistory(store, q)).parts;
}

/** A strip's letter for each bucket: `u` up, `d` down, `i` idle, `n` unknown. */
const LETTER: Record<Bucket, string> = { up: "u", down: "d", idle: "i", unknown: "n" };

/** Down time in a slot that paints it down whatever else it held. */
const DOWN_SHOWS_MS = 60_000;

/**
 * `parts` over `[since, until)` as `slots` letters (see {@linkcode LETTER}), one per equal slot:
 * down as soon as a minute of it was down (a short outage is seen), else up or idle, whichever
 * filled more of the time it was known; unknown only when none of it was.
 */
export function stripOf(
  parts: readonly Segment[],
  since: number,
  until: number,
  slots: number,
): string {
  const width = (until - since) / slots;
  let out = "";
  for (let slot = 0; slot < slots; slot++) {
    const from = since + slot * width;
    const to = from + width;
    const ms: Record<Bucket, number> = { up: 0, down: 0, idle: 0, unknown: 0 };
    for (const part of parts) {
      const overlap = Math.min(to, part.to) - Math.max(from, part.from);
      if (overlap > 0) ms[bucketOf(part.state)] += overlap;
    }
    const known = ms.up + ms.idle;
    out += LETTER[
      ms.down >= Math.min(DOWN_SHOWS_MS, width / 2)
        ? "down"
        : known === 0
        ? (ms.down > 0 ? "down" : "unknown")
        : ms.up >= ms.idle
        ? "up"
        : "idle"
    ];
  }
  return out;
}

/**
 * The uptime of a script over `[since, until)`: whole days from their
 * rollups where there is one, the rest from the state changes.
 */
export async function scriptUptime(store: Store, q: UptimeQuery): Promise<Uptime> {
  const firstDay = Math.ceil(q.since / DAY_MS) * DAY_MS;
  const rollups = await store.history.rollups(q.site, q.host, q.script, firstDay, q.until);
  const total = { upMs: 0, downMs: 0, idleMs: 0, unknownMs: 0, restarts: 0 };
  const add = (part: Omit<Uptime, "ratio">) => {
    for (const key of Object.keys(total) as (keyof typeof total)[]) total[key] += part[key];
  };
  // Runs of time not covered by a rollup are read raw, one query each.
  let rawFrom = q.since;
  for (let day = firstDay; day + DAY_MS <= q.until; day += DAY_MS) {
    const rollup = rollups.get(day);
    if (rollup === undefined) continue;
    if (rawFrom < day) add(await rawUptime(store, { ...q, since: rawFrom, until: day }));
    add(rollup);
    rawFrom = day + DAY_MS;
  }
  if (rawFrom < q.until) add(await rawUptime(store, { ...q, since: rawFrom, until: q.until }));
  return withRatio(total);
}

/** One row of the uptime report. */
export interface UptimeRow extends Uptime {
  site: string;
  host: string;
  script: string;
}

/** Columns of the uptime report's CSV, in order. */
export const UPTIME_CSV_COLUMNS = [
  "site",
  "host",
  "script",
  "uptimePercent",
  "upMs",
  "downMs",
  "idleMs",
  "unknownMs",
  "restarts",
] as const;

/** At most this many scripts' uptimes are read at once. */
const PARALLEL = 16;

/** The uptime of every script the fleet (or `site`) reports, over `[since, until)`. */
export async function uptimeReport(
  store: Store,
  options: { site?: string; since: number; until: number },
): Promise<UptimeRow[]> {
  const fleet = await store.listScripts(options.site === undefined ? {} : { site: options.site });
  const wanted = fleet.flatMap(({ agent, scripts }) =>
    scripts.map((s) => ({ site: agent.site, host: agent.host, script: s.name }))
  );
  const purgedBefore = await store.history.purgedBefore();
  const rows: UptimeRow[] = [];
  for (let i = 0; i < wanted.length; i += PARALLEL) {
    rows.push(
      ...await Promise.all(
        wanted.slice(i, i + PARALLEL).map(async (id) => ({
          ...id,
          ...await scriptUptime(store, {
            ...id,
            since: options.since,
            until: options.until,
            purgedBefore,
          }),
        })),
      ),
    );
  }
  return rows;
}

/** A report row as CSV cells ({@linkcode UPTIME_CSV_COLUMNS}). */
export function uptimeCsvRow(row: UptimeRow): Record<typeof UPTIME_CSV_COLUMNS[number], unknown> {
  return {
    ...row,
    uptimePercent: row.ratio === null ? "" : (row.ratio * 100).toFixed(3),
  };
}

/**
 * Rolls up every whole UTC day that ended at least `settleMs` before
 * `now` and is not rolled up yet, for every script the fleet reports, from
 * the day after its newest rollup (at most `maxDays` back). Returns how
 * many rollups it wrote.
 */
export async function rollUpDays(
  store: Store,
  options: { now: number; maxDays: number; settleMs?: number },
): Promise<number> {
  // A day is final only once late news of it has arrived: an offline mark is written back
  // to the agent's last report up to offline_after later.
  const today = Math.floor((options.now - (options.settleMs ?? 0)) / DAY_MS) * DAY_MS;
  let written = 0;
  const purgedBefore = await store.history.purgedBefore();
  for (const { agent, scripts } of await store.listScripts()) {
    const firstSeen = Math.floor(Date.parse(agent.firstSeenAt) / DAY_MS) * DAY_MS;
    for (const script of scripts) {
      const last = await store.history.lastRollupDay(agent.site, agent.host, script.name);
      let day = Math.max(
        last === null ? firstSeen : last + DAY_MS,
        today - options.maxDays * DAY_MS,
      );
      for (; day < today; day += DAY_MS) {
        const id = { site: agent.site, host: agent.host, script: script.name };
        const sum = await rawUptime(store, {
          ...id,
          since: day,
          until: day + DAY_MS,
          purgedBefore,
        });
        const rollup: DayRollup = { day, ...sum };
        await store.history.saveRollup(id.site, id.host, id.script, rollup);
        written++;
      }
    }
  }
  return written;
}

/** An uptime ratio as people read it: 100 %, 99.9 % (never rounded up to 100), 46 %. */
export function formatRatio(ratio: number): string {
  if (ratio >= 1) return "100 %";
  const percent = Math.floor(ratio * 1000) / 10;
  return `${percent.toFixed(1).replace(/\.0$/, "")} %`;
}
