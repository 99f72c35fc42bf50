/**
 * The fleet's trends (issue 18): what is usual for each script, learnt by
 * hour of week, and anomaly alerts when it is not (the detector is
 * `collector/trends/`).
 *
 * Every {@linkcode TREND_EVERY_MS} the leader reads each online agent's last
 * report and, per script: the relayed posts attributed to it (`posted`, a
 * counter since its agent started), its restarts and heartbeat pings (also
 * counters) and its memory. Each local hour's totals (the largest memory,
 * the time between pings) go into the script's baselines when the hour
 * ends, and that hour is judged against them: posts far fewer than usual,
 * restarts, memory or the time between heartbeats far more. A scheduled
 * script's run is judged by its length when it ends (`duration`). Between
 * hours, a script that usually posts is judged on the time since its last
 * post ({@linkcode silence}): it is how a script that still runs but is stuck
 * shows itself. An anomaly is a `warning` alert, rule `anomaly`, check
 * `silence`, `messages`, `restarts`, `memory`, `heartbeat` or `duration`,
 * through the same policy,
 * silences and routes as every alert; it clears when the next look finds
 * nothing unusual. A script with `anomalies = false` is not judged.
 *
 * One record per script under `["trend", site, host, script]`: the
 * accumulators of the current hour, three baselines (about 5 KB each at
 * eight weeks) and the anomalies in force. Hours are local to the
 * collector's time zone (the machine's).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { KvHandle } from "../../shared/kv/handle.ts";
import { type Condition, conditionKey } from "../../shared/notify/alert_rules.ts";
import type { ScriptSummary } from "../../shared/protocol.ts";
import {
  addHour,
  type Baseline,
  createBaseline,
  detect,
  type Detection,
  localHour,
  type Observation,
  silence,
} from "../trends/mod.ts";
import { retryLocked } from "../store/kv_retry.ts";
import type { Store } from "../store/store.ts";

/** How often the leader looks at the fleet's trends (the silence check's cadence). */
export const TREND_EVERY_MS = 10 * 60_000;

/** What is judged: silence since the last post, and each whole hour's posts, restarts, memory. */
export type TrendCheck = "silence" | "messages" | "restarts" | "memory" | "heartbeat" | "duration";

/** The metrics kept per script. */
type Kept = "messages" | "restarts" | "memory" | "heartbeat" | "duration";

const log = getLogger(["scriptmon", "collector", "trends"]);

/** One script's trend record as stored. */
interface TrendRecord {
  version: 1;
  /** The local hour being accumulated (its start, ms). */
  hourStart: number;
  /** The agent's counters at the last look (null: not reported yet). */
  posted: number | null;
  restarts: number | null;
  /** This hour's totals so far. */
  postedHour: number;
  restartsHour: number;
  /** This hour's largest RSS (bytes); null when none was reported. */
  memoryHour: number | null;
  /** The heartbeat pings counter at the last look, and this hour's pings. */
  pings?: number | null;
  pingsHour?: number;
  /**
   * The hour had a look at which the script was not meant to run (outside its active hours,
   * stopped, disabled): it says nothing about what is usual, and is not judged.
   */
  excluded?: boolean;
  /** When the last scheduled run seen ended (ISO), so that each run is judged once. */
  lastRunAt?: string | null;
  /** When a new post was last seen (ms); null: never. */
  lastPostAt: number | null;
  baselines: Partial<Record<Kept, Baseline>>;
  /** Anomalies in force, by check: the message and since when. */
  anomalies: Partial<Record<TrendCheck, { message: string; since: number }>>;
}

/** The fleet's trend records; see the module comment. */
export class TrendWatch {
  #kv: KvHandle;
  #store: Pick<Store, "listScripts">;
  #timezone: string;
  /** The anomalies in force, by alert key, as of the last pass (or the records, after a start). */
  #conditions = new Map<string, Condition>();
  #loaded = false;

  constructor(
    kv: KvHandle,
    store: Pick<Store, "listScripts">,
    options: { timezone?: string } = {},
  ) {
    this.#kv = kv;
    this.#store = store;
    this.#timezone = options.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  }

  /** Reads the anomalies from the store again at the next look (leadership just came here). */
  forget(): void {
    this.#loaded = false;
  }

  /** The anomaly alerts in force (the alert loop merges them with the scripts' own). */
  async conditions(now: number): Promise<Condition[]> {
    if (!this.#loaded) await this.#load(now);
    return [...this.#conditions.values()];
  }

  /** One look at every online agent's scripts; see the module comment. */
  async pass(now: number): Promise<void> {
    const next = new Map<string, Condition>();
    for (const { agent, scripts } of await this.#store.listScripts()) {
      if (!agent.online) {
        // Offline: its anomalies stand as they were (the offline alert covers it).
        for (const [key, c] of this.#conditions) {
          if (c.alert.site === agent.site && c.alert.host === agent.host) next.set(key, c);
        }
        continue;
      }
      for (const summary of scripts) {
        const key = ["trend", agent.site, agent.host, summary.name];
        try {
          const entry = await retryLocked(() => this.#kv.get<TrendRecord>(key));
          const record = this.#update(entry.value, summary, now);
          await retryLocked(() => this.#kv.set(key, record));
          const ctx = { site: agent.site, host: agent.host, now };
          for (const [check, anomaly] of Object.entries(record.anomalies)) {
            const condition = anomalyCondition(summary.name, check as TrendCheck, anomaly, ctx);
            next.set(condition.key, condition);
          }
        } catch (error) {
          log.error("Cannot update the trends of {site}/{host}/{script}: {error}", {
            site: agent.site,
            host: agent.host,
            script: summary.name,
            error,
          });
        }
      }
    }
    this.#conditions = next;
    this.#loaded = true;
  }

  /** The record after one look at `summary` at `now`. */
  #update(stored: TrendRecord | null, summary: ScriptSummary, now: number): TrendRecord {
    const hour = localHour(this.#timezone, now).start;
    const record: TrendRecord = stored ?? {
      version: 1,
      hourStart: hour,
      posted: null,
      restarts: null,
      postedHour: 0,
      restartsHour: 0,
      memoryHour: null,
      lastPostAt: null,
      baselines: {},
      anomalies: {},
    };
    // Counters restart with their agent: a smaller value is a count since then.
    const grown = (before: number | null, after: number) =>
      before === null ? 0 : after >= before ? after - before : after;
    if (summary.posted !== undefined) {
      const posts = grown(record.posted, summary.posted);
      record.posted = summary.posted;
      record.postedHour += posts;
      if (posts > 0) record.lastPostAt = now;
    }
    record.restartsHour += grown(record.restarts, summary.restarts);
    record.restarts = summary.restarts;
    if (summary.rssBytes !== null) {
      record.memoryHour = Math.max(record.memoryHour ?? 0, summary.rssBytes);
    }
    if (summary.pings !== undefined) {
      record.pingsHour = (record.pingsHour ?? 0) + grown(record.pings ?? null, summary.pings);
      record.pings = summary.pings;
    }
    // Not meant to run now: nothing about it is unusual, and this hour teaches nothing.
    const idle = summary.anomalies === false || summary.offHours === "stop" ||
      summary.offHours === "run" || !summary.enabled || summary.state === "stopped";
    if (idle) record.excluded = true;
    if (!idle) this.#judgeRun(record, summary);
    if (hour !== record.hourStart) this.#closeHour(record, hour);
    if (idle) {
      record.anomalies = {};
      // Silence is counted from when it is meant to run again.
      record.lastPostAt = now;
    } else this.#judgeSilence(record, now);
    return record;
  }

  /** Puts the hour that ended into the baselines, judges it, and starts `next`. */
  #closeHour(record: TrendRecord, next: number): void {
    const window = { from: record.hourStart, to: next };
    // A gap of hours (the collector or the agent away) is not one hour's total; an hour the
    // script was not meant to run is not a usual one.
    const whole = next - record.hourStart === 3_600_000 && !record.excluded;
    const judge = (metric: Kept, value: number, judged = whole) => {
      const baseline = record.baselines[metric] ??= createBaseline({
        metric,
        timezone: this.#timezone,
      });
      if (judged) this.#setAnomaly(record, metric, detect(baseline, { ...window, value }), next);
      else delete record.anomalies[metric];
      if (whole) addHour(baseline, record.hourStart, value);
    };
    // An hour with no post at all, or one that went silent, is the silence check's to judge:
    // one alert, not two.
    if (record.posted !== null) {
      const silent = record.postedHour === 0 || record.anomalies.silence !== undefined;
      judge("messages", record.postedHour, whole && !silent);
    }
    judge("restarts", record.restartsHour);
    if (record.memoryHour !== null) judge("memory", record.memoryHour);
    // Pings in the hour as the time between them; an hour without any is the heartbeat check's.
    if ((record.pingsHour ?? 0) > 0) {
      judge("heartbeat", (next - record.hourStart) / record.pingsHour!);
    }
    record.pingsHour = 0;
    record.excluded = false;
    record.hourStart = next;
    record.postedHour = 0;
    record.restartsHour = 0;
    record.memoryHour = null;
  }

  /** A scheduled run that ended since the last look, judged by its length against the usual. */
  #judgeRun(record: TrendRecord, summary: ScriptSummary): void {
    const exit = summary.lastExit;
    if (!summary.schedule || exit?.runtimeMs === undefined) return;
    if (record.lastRunAt === exit.at) return;
    const first = record.lastRunAt === undefined || record.lastRunAt === null;
    record.lastRunAt = exit.at;
    // The first run seen may be any old one: it only starts the record.
    if (first) return;
    const startedAt = Date.parse(exit.at) - exit.runtimeMs;
    const hour = localHour(this.#timezone, startedAt).start;
    const baseline = record.baselines.duration ??= createBaseline({
      metric: "duration",
      timezone: this.#timezone,
    });
    const window = { from: hour, to: hour + 3_600_000, value: exit.runtimeMs };
    this.#setAnomaly(record, "duration", detect(baseline, window), Date.parse(exit.at));
    addHour(baseline, hour, exit.runtimeMs);
  }

  /** A script that usually posts by now and has not: judged on every look. */
  #judgeSilence(record: TrendRecord, now: number): void {
    const baseline = record.baselines.messages;
    if (baseline === undefined || record.posted === null) return;
    if (record.lastPostAt !== null && record.lastPostAt >= now) {
      delete record.anomalies.silence;
      return;
    }
    const observation: Observation = silence(record.lastPostAt, now);
    this.#setAnomaly(record, "silence", detect(baseline, observation), now);
  }

  #setAnomaly(record: TrendRecord, check: TrendCheck, detection: Detection, now: number): void {
    if (!detection.anomaly) {
      delete record.anomalies[check];
      return;
    }
    const since = record.anomalies[check]?.since ?? now;
    record.anomalies[check] = { message: detection.message, since };
  }

  /** The anomalies in force as last stored (after a start, before the first pass). */
  async #load(now: number): Promise<void> {
    const found = new Map<string, Condition>();
    for await (const entry of this.#kv.list<TrendRecord>({ prefix: ["trend"] })) {
      const [, site, host, script] = entry.key as [string, string, string, string];
      for (const [check, anomaly] of Object.entries(entry.value.anomalies ?? {})) {
        const condition = anomalyCondition(script, check as TrendCheck, anomaly, {
          site,
          host,
          now,
        });
        found.set(condition.key, condition);
      }
    }
    this.#conditions = found;
    this.#loaded = true;
  }
}

/** The alert of one anomaly in force. */
function anomalyCondition(
  script: string,
  check: TrendCheck,
  anomaly: { message: string; since: number },
  ctx: { site: string; host: string; now: number },
): Condition {
  return {
    key: conditionKey("anomaly", ctx, script, check),
    alert: {
      rule: "anomaly",
      severity: "warning",
      status: "firing",
      title: `${script} is unusual on ${ctx.host} (${ctx.site})`,
      text: `${script} ${anomaly.message}.`,
      site: ctx.site,
      host: ctx.host,
      script,
      check,
      at: new Date(anomaly.since).toISOString(),
      episode: "",
    },
  };
}
