/**
 * The agent's `/metrics` body: a `StatusBody` in the Prometheus text
 * exposition format, version 0.0.4.
 *
 * Every family has `# HELP` and `# TYPE` and its samples together; a family
 * with no samples (no resource sample yet, no script pinged) is left out
 * entirely. Values come from the status snapshot; only ages are computed,
 * against `options.now`.
 *
 * `scriptmon_script_healthy` is 1 for a healthy script and 0 for a warning or
 * unhealthy one; a script whose health is `unknown` (no checks, or none has
 * run yet) has no sample, so that `scriptmon_script_healthy == 0` alerts only
 * on a known problem. `scriptmon_script_state` carries that script's state as
 * a state set, one sample per state.
 *
 * @module
 */
import { Exposition } from "../../shared/prometheus.ts";
import type { StatusBody } from "./status.ts";
import { SCRIPT_STATES } from "../supervise/state.ts";
import { TOKEN_STATES } from "../tokens/types.ts";
import { MESSAGE_STATES } from "../../shared/notify/types.ts";

/** Options of `renderMetrics`. */
export interface RenderMetricsOptions {
  /** Epoch milliseconds ages are measured against; defaults to `Date.now()`. */
  now?: number;
  /** The outbox's messages per state (`Outbox.counts()`); the family is left out without it. */
  notifications?: Readonly<Record<string, number>>;
}

/** The `Content-Type` of the text `renderMetrics` returns. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Renders the agent's status as Prometheus text exposition format 0.0.4. */
export function renderMetrics(status: StatusBody, options: RenderMetricsOptions = {}): string {
  const now = options.now ?? Date.now();
  const exposition = new Exposition();
  const family = exposition.family.bind(exposition);

  const { agent, scripts } = status;
  family("scriptmon_agent_info", "gauge", "Agent build and placement; the value is always 1.")
    .push({ labels: { version: agent.version, site: agent.site, host: agent.host }, value: 1 });
  const startedAt = Date.parse(agent.startedAt);
  const start = family(
    "scriptmon_agent_start_time_seconds",
    "gauge",
    "Start time of the agent since the Unix epoch, in seconds.",
  );
  if (Number.isFinite(startedAt)) start.push({ labels: {}, value: startedAt / 1000 });
  const rss = family(
    "scriptmon_agent_resident_memory_bytes",
    "gauge",
    "Resident memory of the agent process at the last sample, in bytes.",
  );
  const cpu = family(
    "scriptmon_agent_cpu_seconds_total",
    "counter",
    "CPU time used by the agent process, in seconds.",
  );
  const disk = family(
    "scriptmon_agent_disk_free_bytes",
    "gauge",
    "Free space on the file system of an agent folder (data_dir, log_dir), in bytes.",
  );
  if (agent.resources !== null) {
    rss.push({ labels: {}, value: agent.resources.rssBytes });
    cpu.push({ labels: {}, value: agent.resources.cpuSeconds });
    for (const { path, freeBytes } of agent.resources.disk) {
      if (freeBytes !== null) disk.push({ labels: { path }, value: freeBytes });
    }
  }
  const storeBytes = family(
    "scriptmon_agent_store_bytes",
    "gauge",
    "Size of the agent's store (agent.sqlite and its write-ahead log) at the last retention pass, in bytes.",
  );
  const storeOldest = family(
    "scriptmon_agent_store_oldest_record_timestamp_seconds",
    "gauge",
    "Time of the oldest message or event the agent's store keeps, since the Unix epoch, in seconds.",
  );
  if (agent.store) {
    storeBytes.push({ labels: {}, value: agent.store.bytes });
    const oldest = agent.store.oldestAt === null ? NaN : Date.parse(agent.store.oldestAt);
    if (Number.isFinite(oldest)) storeOldest.push({ labels: {}, value: oldest / 1000 });
  }
  family(
    "scriptmon_agent_config_reload_failed",
    "gauge",
    "1 when the last config reload failed and the previous config keeps running, else 0.",
  ).push({ labels: {}, value: agent.configError === null ? 0 : 1 });

  const up = family("scriptmon_script_up", "gauge", "1 when the script is in state running.");
  const state = family(
    "scriptmon_script_state",
    "gauge",
    "1 for the script's current state, 0 for every other state.",
  );
  const healthy = family(
    "scriptmon_script_healthy",
    "gauge",
    "1 when all the script's checks pass, 0 on a warning or failure; absent while unknown.",
  );
  const restarts = family(
    "scriptmon_script_restarts_total",
    "counter",
    "Restarts of the script since the agent started.",
  );
  const uptime = family(
    "scriptmon_script_uptime_seconds",
    "gauge",
    "Time since the script's current run started, in seconds; absent when not running.",
  );
  const scriptRss = family(
    "scriptmon_script_resident_memory_bytes",
    "gauge",
    "Resident memory of the script's process tree at the last sample, in bytes.",
  );
  const scriptCpu = family(
    "scriptmon_script_cpu_seconds_total",
    "counter",
    "CPU time of the live processes of the script's process tree, in seconds.",
  );
  const heartbeatAge = family(
    "scriptmon_script_last_heartbeat_age_seconds",
    "gauge",
    "Time since the script last pinged its heartbeat, in seconds.",
  );
  const checkFailing = family(
    "scriptmon_script_check_failing",
    "gauge",
    "1 while the check is failing, else 0 (a warning is not failing).",
  );
  const checkFailures = family(
    "scriptmon_script_check_failures_total",
    "counter",
    "Times the check went from passing to failing since the agent started.",
  );

  for (const script of scripts) {
    const labels = { script: script.name };
    const running = script.state === "running";
    up.push({ labels, value: running ? 1 : 0 });
    for (const name of SCRIPT_STATES) {
      state.push({
        labels: { script: script.name, state: name },
        value: name === script.state ? 1 : 0,
      });
    }
    if (script.health !== "unknown") {
      healthy.push({ labels, value: script.health === "healthy" ? 1 : 0 });
    }
    restarts.push({ labels, value: script.restarts });
    const uptimeMs = script.uptimeMs ??
      (script.startedAt === null ? null : now - Date.parse(script.startedAt));
    if (running && uptimeMs !== null && Number.isFinite(uptimeMs)) {
      uptime.push({ labels, value: Math.max(0, uptimeMs) / 1000 });
    }
    if (script.resources !== null) {
      scriptRss.push({ labels, value: script.resources.rssBytes });
      scriptCpu.push({ labels, value: script.resources.cpuSeconds });
    }
    const lastPing = script.heartbeat?.lastPingAt ?? null;
    const pingedAt = lastPing === null ? NaN : Date.parse(lastPing);
    if (Number.isFinite(pingedAt)) {
      heartbeatAge.push({ labels, value: Math.max(0, now - pingedAt) / 1000 });
    }
    for (const check of script.checks) {
      const checkLabels = { script: script.name, check: check.name };
      checkFailing.push({ labels: checkLabels, value: check.status === "failing" ? 1 : 0 });
      checkFailures.push({ labels: checkLabels, value: check.failuresTotal });
    }
  }

  const expiry = family(
    "scriptmon_token_expiry_seconds",
    "gauge",
    "Seconds until the token expires (negative once past); absent while its expiry is unknown.",
  );
  const tokenState = family(
    "scriptmon_token_state",
    "gauge",
    "1 for the token's current state, 0 for every other state.",
  );
  const confidence = family(
    "scriptmon_token_expiry_confidence",
    "gauge",
    "How sure the expiry is, 0..1: 1 when the token states it, less when predicted.",
  );
  for (const token of status.tokens ?? []) {
    const labels = { token: token.name };
    const expiresAt = token.expiresAt === null ? NaN : Date.parse(token.expiresAt);
    if (Number.isFinite(expiresAt)) {
      expiry.push({ labels, value: Math.round((expiresAt - now) / 1000) });
      confidence.push({ labels, value: token.confidence });
    }
    for (const name of TOKEN_STATES) {
      tokenState.push({
        labels: { token: token.name, state: name },
        value: name === token.state ? 1 : 0,
      });
    }
  }

  if (options.notifications !== undefined) {
    const messages = family(
      "scriptmon_agent_notifications",
      "gauge",
      "Messages in the agent's outbox by state: alert on retrying, dead-lettered or uncertain.",
    );
    for (const state of MESSAGE_STATES) {
      messages.push({ labels: { state }, value: options.notifications[state] ?? 0 });
    }
  }
  return exposition.render();
}
