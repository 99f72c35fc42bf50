/**
 * The collector's `GET /metrics` body in the Prometheus text exposition
 * format 0.0.4: ingest counters kept in memory by the app, agents online
 * and offline per site, scripts per site and state, alerts firing per rule,
 * and the outbox's messages per state.
 *
 * Every family has `# HELP` and `# TYPE` and its samples together; a family
 * without samples is left out.
 *
 * @module
 */

import { Exposition } from "../../shared/prometheus.ts";
import type { MessageState, Severity } from "../../shared/notify/types.ts";
import { SEVERITIES } from "../../shared/notify/policy_schema.ts";
import type { AgentScripts } from "../store/types.ts";

/** The `Content-Type` of the text {@linkcode renderCollectorMetrics} returns. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Ingest requests and events since the collector started, counted by the app. */
export class IngestCounters {
  #requests = new Map<number, number>();
  #events = 0;

  /** Counts one ingest request answered with `status`, carrying `events` events when accepted. */
  record(options: { status: number; events: number }): void {
    this.#requests.set(options.status, (this.#requests.get(options.status) ?? 0) + 1);
    if (options.status === 200) this.#events += options.events;
  }

  /** Requests per HTTP status. */
  requests(): ReadonlyMap<number, number> {
    return new Map(this.#requests);
  }

  /** Events carried by accepted ingests (replays included). */
  get events(): number {
    return this.#events;
  }
}

/** What the alerting side reports for metrics. */
export interface AlertStats {
  /**
   * Conditions firing now, per rule; null on a collector that does not lead the alerting (with
   * replicas, the leader's /metrics has them).
   */
  firing(): Readonly<Record<string, Partial<Record<Severity, number>>>> | null;
  /** The outbox's messages per state. */
  outboxCounts(): Promise<Record<MessageState, number>>;
}

/** What {@linkcode renderCollectorMetrics} shows. */
export interface CollectorMetricsInput {
  counters: IngestCounters;
  /** Every agent with its last scripts (`Store.listScripts()`). */
  fleet: readonly AgentScripts[];
  /** Per rule and severity; omitted while alerting is not wired. */
  firing?: Readonly<Record<string, Partial<Record<Severity, number>>>>;
  /** Per state; omitted while alerting is not wired. */
  outbox?: Readonly<Record<string, number>>;
}

/** Renders the collector's metrics as Prometheus text exposition format 0.0.4. */
export function renderCollectorMetrics(input: CollectorMetricsInput): string {
  const exposition = new Exposition();
  const family = exposition.family.bind(exposition);

  const requests = family(
    "scriptmon_collector_ingest_requests_total",
    "counter",
    "Ingest requests since the collector started, by HTTP status.",
  );
  const byStatus = [...input.counters.requests()].sort(([a], [b]) => a - b);
  for (const [code, value] of byStatus) requests.push({ labels: { code: String(code) }, value });
  family(
    "scriptmon_collector_ingest_events_total",
    "counter",
    "Events carried by accepted ingest requests since the collector started (replays included).",
  ).push({ labels: {}, value: input.counters.events });

  const agents = family(
    "scriptmon_collector_agents",
    "gauge",
    "Agents the collector knows, by site and state (online or offline).",
  );
  const scripts = family(
    "scriptmon_collector_scripts",
    "gauge",
    "Scripts of the agents' last heartbeats, by site and state.",
  );
  const sites = new Map<string, { online: number; offline: number; states: Map<string, number> }>();
  for (const { agent, scripts: list } of input.fleet) {
    const site = sites.get(agent.site) ?? { online: 0, offline: 0, states: new Map() };
    site[agent.online ? "online" : "offline"] += 1;
    for (const script of list) {
      site.states.set(script.state, (site.states.get(script.state) ?? 0) + 1);
    }
    sites.set(agent.site, site);
  }
  for (const [site, counts] of [...sites].sort(([a], [b]) => a < b ? -1 : 1)) {
    agents.push({ labels: { site, state: "online" }, value: counts.online });
    agents.push({ labels: { site, state: "offline" }, value: counts.offline });
    for (const [state, value] of [...counts.states].sort(([a], [b]) => a < b ? -1 : 1)) {
      scripts.push({ labels: { site, state }, value });
    }
  }

  if (input.firing !== undefined) {
    const firing = family(
      "scriptmon_collector_alerts_firing",
      "gauge",
      "Alert conditions firing now, by rule and severity.",
    );
    for (const [rule, counts] of Object.entries(input.firing).sort(([a], [b]) => a < b ? -1 : 1)) {
      for (const severity of SEVERITIES) {
        const value = counts[severity];
        if (value !== undefined) firing.push({ labels: { rule, severity }, value });
      }
    }
  }
  if (input.outbox !== undefined) {
    const outbox = family(
      "scriptmon_collector_outbox_messages",
      "gauge",
      "Notification messages in the collector's outbox, by state.",
    );
    for (const [state, value] of Object.entries(input.outbox)) {
      outbox.push({ labels: { state }, value });
    }
  }
  return exposition.render();
}
