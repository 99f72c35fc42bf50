/**
 * The collector's alerts. Rule `agent-offline` (critical): an agent the
 * offline check marks offline fires `agent-offline|<site>|<host>`; it
 * resolves once the agent reports again. The shared `AlertPolicy` decides
 * what goes out when (a burst of agents going offline within `group_wait`
 * is one message listing them), and the shared `Outbox` on the collector's
 * KV delivers each message once to the `[webhooks]` the routes name.
 *
 * On the same tick, the scripts each online agent last reported are read
 * through the rules the agent applies too (`shared/notify/alert_rules.ts`:
 * `crash-looping`, `script-down`, `unhealthy`, `resource`...; and its tokens
 * through `shared/notify/alert_rules_tokens.ts`): conditions true now fire,
 * those that cleared resolve. The scripts of an agent that is offline (or silent for
 * `offline_after`, about to be) are not evaluated: the offline alert covers
 * them, and their alerts stay as they were until the agent reports again.
 * Likewise a script outside its active hours that is stopped or run
 * unwatched (`offHours`): it did not recover, so what fired stays firing
 * until its hours open and it is judged again.
 * The same failure on several agents, at one site or many, is grouped by
 * rule into one message by the policy's `group_wait`.
 *
 * Every alert's life (fired, resolved, acknowledged) is also recorded in
 * the store for `GET /api/v1/alerts`.
 *
 * Right after the collector starts, every agent looks silent: offline
 * agents are alerted only once the collector has been up for
 * `offline_after`, and only those that are still offline then.
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv/handle.ts";
import { queueDue } from "../../shared/notify/queue_due.ts";
import { getLogger } from "@logtape/logtape";
import { createChannel } from "../../shared/notify/channels/mod.ts";
import { Outbox } from "../../shared/notify/outbox.ts";
import {
  AlertPolicy,
  type AlertPolicyOptions,
  type PolicyOutput,
} from "../../shared/notify/policy.ts";
import { RuntimeRules } from "../../shared/notify/runtime_rules.ts";
import type { Alert, Channel, MessageState, Severity } from "../../shared/notify/types.ts";
import { formatDuration } from "../../shared/config/units.ts";
import { readCaCerts as readWebhookCaCerts } from "../../shared/config/ca_certs.ts";
import { retryLocked } from "../store/kv_retry.ts";
import { type Clock, systemClock } from "../clock.ts";
import type { ResolvedCollectorConfig } from "../config/load.ts";
import { type Condition, scriptConditions } from "../../shared/notify/alert_rules.ts";
import { tokenConditions } from "../../shared/notify/alert_rules_tokens.ts";
import type { AlertStats } from "./metrics.ts";
import type { Store } from "../store/store.ts";
import type { AgentRecord } from "../store/types.ts";

const log = getLogger(["scriptmon", "collector", "alerts"]);

/** The rule of an agent that stopped reporting. */
export const AGENT_OFFLINE = "agent-offline";
/** The policy's state is kept in chunks of this many bytes (a KV value holds 64 KiB). */
const CHUNK_BYTES = 60_000;
const STATE_PREFIX = ["alerts", "state"];

/** What {@linkcode CollectorAlerts} needs. */
export interface CollectorAlertsOptions {
  /** The collector's KV (the outbox and the policy state live in it); the caller closes it. */
  kv: KvHandle;
  store: Store;
  config: ResolvedCollectorConfig;
  clock?: Clock;
  /** For the webhooks; default the global `fetch`. */
  fetch?: typeof fetch;
  /** PEM CA certificates per email webhook (read from its `ca_file`, see {@linkcode readCaCerts}). */
  caCerts?: Record<string, string[]>;
  /**
   * Adds the leader's check to the commit that saves the policy's state, so that a collector that
   * lost the leadership cannot overwrite its successor's (see `leader.ts`).
   */
  fence?: (op: Deno.AtomicOperation) => Deno.AtomicOperation;
  /** Anomaly alerts in force (`trend_watch.ts`), judged with the scripts' own conditions. */
  anomalies?: (now: number) => Promise<Condition[]>;
}

interface Saved {
  policy: unknown;
  firing: [string, Alert][];
}

/** The key of an agent's offline condition. */
export function offlineKey(site: string, host: string): string {
  return `${AGENT_OFFLINE}|${site}|${host}`;
}

/** Agent-offline alerts through the shared policy and outbox; see the module doc. */
export class CollectorAlerts implements AlertStats {
  #options: CollectorAlertsOptions;
  #clock: Clock;
  #outbox: Outbox;
  #policy: AlertPolicy;
  /** Silences and routes added through the API (kept in the KV). */
  readonly rules: RuntimeRules;
  #firing = new Map<string, Alert>();
  #pending = new Map<string, AgentRecord>();
  #startedAt = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #busy: Promise<void> = Promise.resolve();
  #closed = false;
  /** Only a started instance (the leader's) evaluates and delivers; the others serve the API. */
  #started = false;
  #unqueued: PolicyOutput[] = [];
  #chunks = 0;
  #changed = false;

  /** Builds the channels and the outbox; nothing runs before {@linkcode CollectorAlerts.start}. */
  constructor(options: CollectorAlertsOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    const { config } = options;
    const channels = new Map<string, Channel>();
    for (const [name, webhook] of Object.entries(config.webhooks)) {
      channels.set(
        name,
        createChannel(name, webhook, {
          fetch: options.fetch ?? fetch,
          connect: Deno.connect,
          startTls: Deno.startTls,
          now: () => this.#clock.now(),
          ...(options.caCerts?.[name] ? { caCerts: options.caCerts[name] } : {}),
        }),
      );
    }
    this.#outbox = new Outbox(options.kv, {
      channels,
      // A deposed leader moves no message to "sending": each alert goes out once.
      ...(options.fence === undefined ? {} : { fence: options.fence }),
      clock: { now: () => this.#clock.now(), sleep },
      channelPolicy: (name) => {
        const w = config.webhooks[name];
        return {
          maxAgeMs: w?.maxAgeMs ?? 86_400_000,
          onUncertain: w?.onUncertain ?? "skip",
          ...(w?.rateLimit ? { rateLimit: w.rateLimit } : {}),
        };
      },
    });
    this.rules = new RuntimeRules(options.kv, {
      prefix: ["alerts", "rules"],
      now: () => this.#clock.now(),
    });
    this.#policy = new AlertPolicy(config.notify, this.#policyOptions());
  }

  #policyOptions(): AlertPolicyOptions {
    return {
      silences: () => this.rules.silences(),
      routes: () => this.rules.resolvedRoutes(),
    };
  }

  /** Restores the policy's state from the KV and starts delivering. */
  async start(): Promise<void> {
    const { kv, config } = this.#options;
    await this.rules.load();
    const parts: Uint8Array[] = [];
    for await (const entry of kv.list<Uint8Array>({ prefix: STATE_PREFIX })) {
      parts.push(entry.value);
    }
    this.#chunks = parts.length;
    if (parts.length > 0) {
      try {
        const saved = JSON.parse(await unpack(concat(parts))) as Saved;
        this.#policy = AlertPolicy.restore(config.notify, saved.policy, this.#policyOptions());
        this.#firing = new Map(saved.firing);
      } catch (error) {
        log.error("Cannot restore the alert state; starting afresh: {error}", { error });
      }
    }
    this.#startedAt = this.#clock.now();
    this.#started = true;
    this.#outbox.start();
    this.#schedule();
  }

  /**
   * Takes the agents the offline check just marked offline, resolves the
   * firing ones that report again, and queues what is due.
   */
  update(offline: readonly AgentRecord[]): Promise<void> {
    const run = this.#busy.then(() => this.#update(offline));
    this.#busy = run.catch(() => {});
    return run;
  }

  async #update(offline: readonly AgentRecord[]): Promise<void> {
    const { store, config } = this.#options;
    const now = this.#clock.now();
    for (const agent of offline) this.#pending.set(offlineKey(agent.site, agent.host), agent);
    if (now - this.#startedAt >= config.offlineAfterMs) {
      for (const [key, marked] of this.#pending) {
        const agent = offline.includes(marked)
          ? marked
          : await store.getAgent(marked.site, marked.host);
        if (agent !== null && !agent.online) await this.#fire(key, agent, now);
      }
      this.#pending.clear();
    }
    for (const [key, alert] of this.#firing) {
      if (alert.rule !== AGENT_OFFLINE) continue;
      const agent = await store.getAgent(alert.site, alert.host);
      if (agent !== null && !agent.online) continue;
      const at = agent === null ? now : Date.parse(agent.lastSeenAt);
      this.#policy.observe(
        key,
        { ...alert, status: "resolved", at: new Date(at).toISOString() },
        now,
      );
      this.#firing.delete(key);
      this.#changed = true;
      await this.#recordResolved(key, at);
      log.info("Agent {site}/{host} is back: {rule} resolved", { ...alert });
    }
    await this.#evaluateScripts(now);
    await this.#flush(now);
  }

  /** Observes the script conditions of the agents that report, and resolves those that cleared. */
  async #evaluateScripts(now: number): Promise<void> {
    const { store, config } = this.#options;
    const [fleet, tokens] = await Promise.all([store.listScripts(), store.agentTokens()]);
    const tokensOf = new Map(tokens.map((t) => [agentId(t.site, t.host), t.tokens]));
    const covered = new Set<string>();
    /** Scripts outside their active hours (stopped or run unwatched): their alerts are held. */
    const held = new Set<string>();
    const current = new Map<string, Condition>();
    for (const { agent, scripts } of fleet) {
      const offline = offlineKey(agent.site, agent.host);
      if (
        !agent.online || now - Date.parse(agent.lastSeenAt) >= config.offlineAfterMs ||
        this.#firing.has(offline) || this.#pending.has(offline)
      ) {
        covered.add(agentId(agent.site, agent.host));
        continue;
      }
      const ctx = { site: agent.site, host: agent.host, now };
      for (const summary of scripts) {
        if (summary.offHours === "stop" || summary.offHours === "run") {
          held.add(scriptId(agent.site, agent.host, summary.name));
        }
        for (const condition of scriptConditions(summary, ctx)) {
          current.set(condition.key, condition);
        }
      }
      const own = tokensOf.get(agentId(agent.site, agent.host)) ?? [];
      for (const condition of tokenConditions(own, ctx)) current.set(condition.key, condition);
    }
    for (const condition of await this.#options.anomalies?.(now) ?? []) {
      if (!covered.has(agentId(condition.alert.site, condition.alert.host))) {
        current.set(condition.key, condition);
      }
    }
    for (const [key, { alert }] of current) {
      const known = this.#firing.get(key);
      // The policy keeps the first evidence's time as the episode's start.
      const firing = known === undefined ? alert : { ...alert, at: known.at };
      this.#policy.observe(key, firing, now);
      this.#firing.set(key, firing);
      if (known === undefined) {
        this.#changed = true;
        await this.#recordFired(key, firing);
        log.info("Alert {rule} firing: {title}", { ...firing });
      }
    }
    for (const [key, alert] of this.#firing) {
      if (alert.rule === AGENT_OFFLINE || current.has(key)) continue;
      if (covered.has(agentId(alert.site, alert.host))) continue;
      if (held.has(scriptId(alert.site, alert.host, alert.script ?? ""))) continue;
      const at = new Date(now).toISOString();
      this.#policy.observe(key, { ...alert, status: "resolved", at }, now);
      this.#firing.delete(key);
      this.#changed = true;
      await this.#recordResolved(key, now);
      log.info("Alert {rule} resolved: {title}", { ...alert });
    }
  }

  /** Records a firing alert for the API; a failure is logged, delivery goes on. */
  async #recordFired(key: string, alert: Alert): Promise<void> {
    try {
      await this.#options.store.alerts.open({
        rule: alert.rule,
        key,
        severity: alert.severity,
        site: alert.site,
        host: alert.host,
        script: alert.script ?? null,
        check: alert.check ?? null,
        title: alert.title,
        firedAt: alert.at,
      });
    } catch (error) {
      log.error("Cannot record alert {key} as firing: {error}", { key, error });
    }
  }

  /** Records that an alert cleared at `at` (ms); a failure is logged, delivery goes on. */
  async #recordResolved(key: string, at: number): Promise<void> {
    try {
      await this.#options.store.alerts.resolve(key, new Date(at).toISOString());
    } catch (error) {
      log.error("Cannot record alert {key} as resolved: {error}", { key, error });
    }
  }

  async #fire(key: string, agent: AgentRecord, now: number): Promise<void> {
    const after = formatDuration(this.#options.config.offlineAfterMs);
    const alert: Alert = {
      rule: AGENT_OFFLINE,
      severity: "critical",
      status: "firing",
      title: `${agent.host} is offline (${agent.site})`,
      text: `Agent ${agent.host} at ${agent.site} has not reported since ${agent.lastSeenAt} ` +
        `(an agent silent for ${after} is offline).`,
      site: agent.site,
      host: agent.host,
      at: agent.offlineAt ?? new Date(now).toISOString(),
      episode: "",
    };
    this.#firing.set(key, alert);
    this.#changed = true;
    this.#policy.observe(key, alert, now);
    await this.#recordFired(key, alert);
  }

  /** Queues the policy's due messages, saves its state and sets the timer for the next ones. */
  async #flush(now: number): Promise<void> {
    const due = [...this.#unqueued, ...this.#policy.due(now)];
    this.#unqueued = await queueDue(this.#outbox, due);
    if (due.length > 0 || this.#changed) {
      try {
        await this.#save();
        this.#changed = false;
      } catch (error) {
        log.error("Cannot save the alert state (will retry): {error}", { error });
      }
    }
    this.#schedule();
  }

  async #save(): Promise<void> {
    const { kv } = this.#options;
    const saved: Saved = { policy: this.#policy.snapshot(), firing: [...this.#firing] };
    const bytes = await pack(JSON.stringify(saved));
    const count = Math.ceil(bytes.length / CHUNK_BYTES);
    // The fence refuses the write once another collector has taken the lease (serve's fence
    // checks the leadership's epoch; a renewal leaves it be). Refused twice, another leads.
    for (let attempt = 1;; attempt++) {
      const op = this.#options.fence?.(kv.atomic()) ?? kv.atomic();
      for (let i = 0; i < count; i++) {
        op.set([...STATE_PREFIX, i], bytes.slice(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
      }
      for (let stale = count; stale < this.#chunks; stale++) op.delete([...STATE_PREFIX, stale]);
      if ((await retryLocked(() => op.commit())).ok) break;
      if (attempt === 2) throw new Error("this collector no longer leads the alerting");
    }
    this.#chunks = count;
  }

  #schedule(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const next = this.#policy.nextWakeAt();
    if (next === null || this.#closed || !this.#started) return;
    const delay = Math.min(2 ** 31 - 1, Math.max(0, next - this.#clock.now()));
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const run = this.#busy.then(() => this.#flush(this.#clock.now()));
      this.#busy = run.catch((error) => log.error("Alert flush failed: {error}", { error }));
    }, delay);
  }

  /**
   * Takes a reloaded config: the notify policy (routes, silences, waits,
   * repeat interval) and `offline_after` apply from now on. Webhooks are
   * read at start only.
   */
  reconfigure(config: ResolvedCollectorConfig): void {
    this.#policy.reconfigure(config.notify);
    this.#options = { ...this.#options, config };
    this.#schedule();
  }

  /** The outbox, for the notification history. */
  get outbox(): Outbox {
    return this.#outbox;
  }

  /** Conditions firing now, per rule. */
  firing(): Record<string, Partial<Record<Severity, number>>> {
    const counts: Record<string, Partial<Record<Severity, number>>> = {};
    for (const { rule, severity } of this.#firing.values()) {
      const bySeverity = counts[rule] ??= {};
      bySeverity[severity] = (bySeverity[severity] ?? 0) + 1;
    }
    return counts;
  }

  /** The outbox's messages per state. */
  outboxCounts(): Promise<Record<MessageState, number>> {
    return this.#outbox.counts();
  }

  /** Resolves when every queued message reached a final state (for tests and shutdown). */
  idle(): Promise<void> {
    return this.#outbox.idle();
  }

  /** Stops the timer and delivery; queued messages wait in the KV for the next start. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#busy;
    await this.#outbox.close();
  }
}

/**
 * The PEM files named by email webhooks' `ca_file`, by webhook name.
 *
 * @throws {Error} naming the webhook and file when one cannot be read.
 */
export function readCaCerts(config: ResolvedCollectorConfig): Promise<Record<string, string[]>> {
  return readWebhookCaCerts(config.webhooks, Deno);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.min(Math.max(0, ms), 2 ** 31 - 1));
    signal?.addEventListener("abort", done, { once: true });
  });
}

function agentId(site: string, host: string): string {
  return `${site}\u0000${host}`;
}

/** One script of one agent, as a set key. */
function scriptId(site: string, host: string, script: string): string {
  return `${site}\u0000${host}\u0000${script}`;
}

/** The saved state, gzipped: a thousand firing agents fit in a few chunks. */
async function pack(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The text of a saved state: gzipped, or plain JSON as saved before it was. */
async function unpack(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return new TextDecoder().decode(bytes);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}
