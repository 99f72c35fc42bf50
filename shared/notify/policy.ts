/**
 * What to send about alerts, and when, as Alertmanager decides it: flap
 * suppression (`for`), grouping of bursts (`group_wait`), repeats
 * (`repeat_interval`), resolved messages, silences, routes and business
 * hours. Pure logic on a clock passed in: {@linkcode AlertPolicy.observe}
 * records a condition's truth, {@linkcode AlertPolicy.due} hands out the
 * messages due at a time, {@linkcode AlertPolicy.nextWakeAt} says when to
 * ask again. The outbox delivers them once, by their `dedupeKey`.
 *
 * Life of a condition (identified by its `key`, e.g. `crash-looping|BFI4|ws7|rates`):
 *
 * - It starts firing at `at`: a new episode `<key>@<at>`. After `for` (or
 *   `for_rule[rule]`) it becomes due; if it clears before, nothing is sent.
 * - The first due alert of a rule and status opens a group; every alert of
 *   that rule and status due within `group_wait` joins it. At the end of
 *   the wait, one message per channel goes out: the most severe (then
 *   earliest) alert as the main one, the rest in `group`.
 * - While it fires, it goes out again `repeat_interval` after each send
 *   (grouped with the others due then).
 * - When it clears after a firing message was delivered (not suppressed) to
 *   some channel, a resolved message is due to those channels (grouped the
 *   same way), if `send_resolved`. If it fires again before that message
 *   goes out, the clear was a flap: the episode goes on, no resolved is sent.
 * - Silenced alerts, and non-critical alerts outside a route's business
 *   hours, still appear in the output with `suppressed`, so the history
 *   records them; the caller stores them without delivering.
 *
 * @module
 */

import { z } from "zod";
import { Calendar, describeSpans } from "../calendar/mod.ts";
import type { ResolvedNotifyPolicy, ResolvedRoute } from "./policy_schema.ts";
import { findSilence, matchesAlert, type Silence, silenceNote } from "./silences.ts";
import type { Alert, Severity } from "./types.ts";

/** Why a message is recorded but not delivered. */
export interface Suppression {
  reason: "silenced" | "outside business hours";
  /** `silenced by <id> until <until>: <comment>`, or which hours in which zone. */
  note: string;
}

/** One message for the outbox: to one channel, with a key that makes it once-only. */
export interface PolicyOutput {
  /** The webhook name. */
  channel: string;
  /** `<rule>|<subject>|<episode>|<repeatN>|<status>|<channel>` of the main alert. */
  dedupeKey: string;
  payload: { type: "alert"; alert: Alert };
  /** Set when the message is to be recorded only. */
  suppressed?: Suppression;
}

/** What {@linkcode AlertPolicy} needs besides its config. */
export interface AlertPolicyOptions {
  /**
   * Silences in force besides the config file's (runtime ones from the CLI);
   * read on each decision. One with the id of a config silence is ignored.
   */
  silences?: () => readonly Silence[];
  /** Routes added at run time (the collector's API), tried before the config's; read on each decision. */
  routes?: () => readonly ResolvedRoute[];
}

interface Condition {
  key: string;
  /** The latest evidence: the firing alert, or the resolved one once cleared. */
  alert: Alert;
  /** When the episode started firing (ms). */
  since: number;
  episode: string;
  phase: "firing" | "resolved";
  /** Firing messages handed out this episode; the next one's repeatN. */
  sends: number;
  lastSentAt: number | null;
  /** Channels that got a firing message not suppressed: the resolved goes there. */
  delivered: string[];
  resolvedAt?: number;
}

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

const alertShape = z.custom<Alert>((value) =>
  typeof value === "object" && value !== null && typeof Reflect.get(value, "rule") === "string" &&
  typeof Reflect.get(value, "severity") === "string" &&
  typeof Reflect.get(value, "title") === "string"
);

const snapshotSchema = z.object({
  version: z.literal(1),
  conditions: z.array(z.object({
    key: z.string(),
    alert: alertShape,
    since: z.number(),
    episode: z.string(),
    phase: z.enum(["firing", "resolved"]),
    sends: z.int().min(0),
    lastSentAt: z.number().nullable(),
    delivered: z.array(z.string()),
    resolvedAt: z.number().optional(),
  })),
});

/** Decides which alert messages go out when; see the module doc for the rules. */
export class AlertPolicy {
  #config: ResolvedNotifyPolicy;
  #extraSilences: () => readonly Silence[];
  #extraRoutes: () => readonly ResolvedRoute[];
  #conditions = new Map<string, Condition>();

  /** @throws {RangeError} when `repeatIntervalMs` is not > 0 or a wait is negative. */
  constructor(config: ResolvedNotifyPolicy, options: AlertPolicyOptions = {}) {
    if (!(config.repeatIntervalMs > 0)) {
      throw new RangeError(
        `Invalid notify policy: repeat interval must be > 0 ms, got ${config.repeatIntervalMs}`,
      );
    }
    for (const [name, ms] of [["group wait", config.groupWaitMs], ["for", config.forMs]] as const) {
      if (!(ms >= 0)) {
        throw new RangeError(`Invalid notify policy: ${name} must be >= 0 ms, got ${ms}`);
      }
    }
    this.#config = config;
    this.#extraSilences = options.silences ?? (() => []);
    this.#extraRoutes = options.routes ?? (() => []);
  }

  /**
   * Takes a new config (a reloaded file); conditions, episodes and repeat
   * counts carry on. Validated like the constructor's.
   */
  reconfigure(config: ResolvedNotifyPolicy): void {
    const fresh = new AlertPolicy(config);
    this.#config = fresh.#config;
  }

  /**
   * Records a condition's current truth at `at` (ms): `alert.status` "firing"
   * (with its evidence; repeated calls update it) or "resolved" (cleared).
   * `key` identifies the condition (rule + subject).
   */
  observe(key: string, alert: Alert, at: number): void {
    const found = this.#conditions.get(key);
    if (alert.status === "firing") {
      if (found === undefined) {
        this.#conditions.set(key, {
          key,
          alert,
          since: at,
          episode: `${key}@${at}`,
          phase: "firing",
          sends: 0,
          lastSentAt: null,
          delivered: [],
        });
      } else {
        found.alert = alert;
        found.phase = "firing";
        delete found.resolvedAt;
      }
      return;
    }
    if (found === undefined || found.phase === "resolved") return;
    if (found.delivered.length === 0 || !this.#config.sendResolved) {
      this.#conditions.delete(key);
      return;
    }
    found.alert = alert;
    found.phase = "resolved";
    found.resolvedAt = at;
  }

  /** Messages due at `now` (ms): grouped, routed, keyed by episode. Call after `observe` and at `nextWakeAt()`. */
  due(now: number): PolicyOutput[] {
    const outputs: PolicyOutput[] = [];
    for (;;) {
      const ready = this.#groups().filter((group) => group.flushAt <= now);
      if (ready.length === 0) return outputs;
      for (const group of ready) outputs.push(...this.#flush(group.members, now));
    }
  }

  /** When `due` next has something to do (ms), or null when nothing is pending. */
  nextWakeAt(): number | null {
    const groups = this.#groups();
    return groups.length === 0 ? null : groups[0].flushAt;
  }

  /** The state to persist (plain JSON), so a restart neither resends nor forgets. */
  snapshot(): unknown {
    return { version: 1, conditions: structuredClone([...this.#conditions.values()]) };
  }

  /**
   * A policy that goes on from `snapshot` under `config` (which may have changed).
   *
   * @throws {TypeError} when `snapshot` is not one {@linkcode AlertPolicy.snapshot} made.
   */
  static restore(
    config: ResolvedNotifyPolicy,
    snapshot: unknown,
    options: AlertPolicyOptions = {},
  ): AlertPolicy {
    const result = snapshotSchema.safeParse(snapshot);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new TypeError(
        `Cannot restore the alert policy: snapshot at ${
          ["", ...issue.path.map(String)].join(".") || "."
        } is invalid (${issue.message})`,
      );
    }
    const policy = new AlertPolicy(config, options);
    for (const condition of structuredClone(result.data.conditions)) {
      policy.#conditions.set(condition.key, condition);
    }
    return policy;
  }

  /** Pending groups (rule + status), each with its flush time and members, earliest first. */
  #groups(): { flushAt: number; members: Condition[] }[] {
    const byGroup = new Map<string, { at: number; condition: Condition }[]>();
    for (const condition of this.#conditions.values()) {
      const id = `${condition.alert.rule}\u0000${condition.phase}`;
      const list = byGroup.get(id) ?? [];
      list.push({ at: this.#dueAt(condition), condition });
      byGroup.set(id, list);
    }
    const groups = [...byGroup.entries()].map(([id, list]) => {
      const flushAt = Math.min(...list.map((entry) => entry.at)) + this.#config.groupWaitMs;
      const members = list.filter((entry) => entry.at <= flushAt).sort(byRank);
      return { id, flushAt, members: members.map((entry) => entry.condition) };
    });
    return groups.sort((a, b) => a.flushAt - b.flushAt || (a.id < b.id ? -1 : 1));
  }

  #dueAt(condition: Condition): number {
    if (condition.phase === "resolved") return condition.resolvedAt ?? condition.since;
    if (condition.lastSentAt === null) {
      return condition.since + (this.#config.forRuleMs[condition.alert.rule] ?? this.#config.forMs);
    }
    // The group wait is part of the interval, so that a repeat goes out
    // `repeat_interval` after the last send, not that plus the wait each time.
    const { repeatIntervalMs, groupWaitMs } = this.#config;
    return condition.lastSentAt + Math.max(repeatIntervalMs - groupWaitMs, 0);
  }

  /** Hands out one group's messages and moves its members on. */
  #flush(members: Condition[], now: number): PolicyOutput[] {
    const silences = this.#silences();
    const buckets = new Map<
      string,
      { channel: string; suppressed?: Suppression; of: Condition[] }
    >();
    for (const condition of members) {
      for (const target of this.#targets(condition, silences, now)) {
        const id = `${target.channel}\u0000${target.suppressed?.note ?? ""}`;
        const bucket = buckets.get(id) ?? { ...target, of: [] };
        bucket.of.push(condition);
        buckets.set(id, bucket);
        if (condition.phase === "firing" && target.suppressed === undefined) {
          if (!condition.delivered.includes(target.channel)) {
            condition.delivered.push(target.channel);
          }
        }
      }
    }
    const outputs = [...buckets.values()].map((bucket) => {
      const [main, ...rest] = bucket.of;
      const alert = this.#present(main);
      if (rest.length > 0) {
        const group = rest.map((condition) => this.#present(condition));
        alert.title = groupTitle([alert, ...group]);
        alert.group = group;
      }
      const subject = main.key.startsWith(`${alert.rule}|`)
        ? main.key.slice(alert.rule.length + 1)
        : main.key;
      const output: PolicyOutput = {
        channel: bucket.channel,
        dedupeKey: [
          alert.rule,
          subject,
          main.episode,
          main.sends,
          alert.status,
          bucket.channel,
        ].join("|"),
        payload: { type: "alert", alert },
      };
      if (bucket.suppressed !== undefined) output.suppressed = bucket.suppressed;
      return output;
    });
    for (const condition of members) {
      if (condition.phase === "resolved") {
        this.#conditions.delete(condition.key);
      } else {
        condition.sends += 1;
        condition.lastSentAt = now;
      }
    }
    return outputs;
  }

  /** The channels a condition's message goes to now, each delivered or suppressed. */
  #targets(
    condition: Condition,
    silences: readonly Silence[],
    now: number,
  ): { channel: string; suppressed?: Suppression }[] {
    const alert = condition.alert;
    const silence = findSilence(silences, alert, now);
    const targets: { channel: string; suppressed?: Suppression }[] = [];
    for (const route of this.#routesFor(alert)) {
      for (const channel of route.webhooks) {
        if (targets.some((target) => target.channel === channel)) continue;
        if (condition.phase === "resolved" && !condition.delivered.includes(channel)) continue;
        const suppressed: Suppression | undefined = silence !== undefined
          ? { reason: "silenced", note: silenceNote(silence) }
          : outsideHours(route, alert, now);
        targets.push(suppressed === undefined ? { channel } : { channel, suppressed });
      }
    }
    return targets;
  }

  /** The routes an alert takes: the first that matches, and the next ones while `continue` says so. */
  #routesFor(alert: Alert): ResolvedRoute[] {
    const taken: ResolvedRoute[] = [];
    for (const route of [...this.#extraRoutes(), ...this.#config.routes]) {
      if (!route.severity.includes(alert.severity) || !matchesAlert(route.match, alert)) continue;
      taken.push(route);
      if (!route.continue) break;
    }
    return taken;
  }

  #silences(): Silence[] {
    const own = this.#config.silences;
    const ids = new Set(own.map((silence) => silence.id));
    return [...own, ...this.#extraSilences().filter((silence) => !ids.has(silence.id))];
  }

  /** The alert as it goes out: status, episode, time and link filled in by the policy. */
  #present(condition: Condition): Alert {
    const { group: _group, ...evidence } = condition.alert;
    const at = condition.phase === "resolved" ? condition.resolvedAt : condition.since;
    const link = evidence.link ?? this.#config.link;
    return {
      ...structuredClone(evidence),
      status: condition.phase,
      episode: condition.episode,
      at: new Date(at ?? condition.since).toISOString(),
      ...(link === undefined ? {} : { link }),
    };
  }
}

function outsideHours(route: ResolvedRoute, alert: Alert, now: number): Suppression | undefined {
  if (alert.severity === "critical") return undefined;
  if (route.calendar !== undefined) {
    if (route.calendar.isOpen(now)) return undefined;
    const why = route.calendar.isHoliday(now) ? "a holiday of" : "outside";
    return {
      reason: "outside business hours",
      note:
        `${why} the ${route.calendar.name} calendar (${route.calendar.describe()}); only critical alerts go out then`,
    };
  }
  if (route.hours === undefined) return undefined;
  if (hoursOf(route).isOpen(now)) return undefined;
  return {
    reason: "outside business hours",
    note: `outside business hours (${
      describeSpans(route.hours)
    } ${route.timezone}); only critical alerts go out then`,
  };
}

/** A route's `hours` as a calendar of its zone, made once per route. */
const HOURS = new WeakMap<ResolvedRoute, Calendar>();
function hoursOf(route: ResolvedRoute): Calendar {
  let calendar = HOURS.get(route);
  if (calendar === undefined) {
    calendar = new Calendar({ name: "hours", timezone: route.timezone, spans: route.hours ?? [] });
    HOURS.set(route, calendar);
  }
  return calendar;
}

function byRank(
  a: { at: number; condition: Condition },
  b: { at: number; condition: Condition },
): number {
  return SEVERITY_RANK[a.condition.alert.severity] - SEVERITY_RANK[b.condition.alert.severity] ||
    a.at - b.at ||
    (a.condition.key < b.condition.key ? -1 : a.condition.key > b.condition.key ? 1 : 0);
}

/** `crash-looping: 10 scripts at BFI4`, `script-down resolved: 3 hosts at 2 sites`. */
function groupTitle(alerts: Alert[]): string {
  const [first] = alerts;
  const noun = alerts.every((alert) => alert.script !== undefined)
    ? "scripts"
    : alerts.every((alert) => alert.check !== undefined)
    ? "checks"
    : "hosts";
  const sites = new Set(alerts.map((alert) => alert.site));
  const where = sites.size === 1 ? first.site : `${sites.size} sites`;
  const status = first.status === "resolved" ? " resolved" : "";
  return `${first.rule}${status}: ${alerts.length} ${noun} at ${where}`;
}
