/**
 * The fleet views the REST API serves, computed from the store's agents
 * and scripts: one flat row per script, and counts per site.
 *
 * @module
 */

import type { AgentScripts } from "../store/types.ts";

/** One script of one agent, flattened for listing. */
export interface ScriptRow {
  site: string;
  host: string;
  /** Whether its agent is online (an offline agent's scripts are as last reported). */
  agentOnline: boolean;
  script: string;
  state: string;
  health: string;
  enabled: boolean;
  uptimeMs: number | null;
  restarts: number;
  rssBytes: number | null;
  cpuPercent: number | null;
  lastExit: { at: string; code: number | null; signal: string | null } | null;
  reason: string | null;
  /** When its agent last reported. */
  reportedAt: string;
}

/** Counts of one site. */
export interface SiteSummary {
  site: string;
  agents: { online: number; offline: number };
  scripts: {
    total: number;
    running: number;
    unhealthy: number;
    crashLooping: number;
    down: number;
  };
}

/** States in which an enabled script counts as down. */
const DOWN_STATES = new Set(["stopped", "exited", "failed", "backoff"]);

/**
 * Whether a person stopped the script (the agent's `stop`, locally or by a command: its reason
 * says "stopped by ..."): it is off on purpose, not down.
 */
export function stoppedOnPurpose(row: { state: string; reason?: string | null }): boolean {
  return row.state === "stopped" && (row.reason ?? "").startsWith("stopped by ");
}

/**
 * Whether a script counts as down: enabled and not running, starting, stopping or crash-looping,
 * unless a person stopped it.
 */
export function isDown(row: { enabled: boolean; state: string; reason?: string | null }): boolean {
  return row.enabled && DOWN_STATES.has(row.state) && !stoppedOnPurpose(row);
}

/** Filters of {@linkcode scriptRows}. */
export interface ScriptFilter {
  site?: string;
  host?: string;
  /** Exact state ("running", "crash-looping", ...). */
  state?: string;
  /** Exact health ("healthy", "unhealthy", ...). */
  health?: string;
  /** Case-insensitive substring of the script name or host. */
  q?: string;
}

/** Every script of `fleet` as a row, filtered, by site, host and name. */
export function scriptRows(fleet: readonly AgentScripts[], filter: ScriptFilter = {}): ScriptRow[] {
  const q = filter.q?.toLowerCase();
  const rows: ScriptRow[] = [];
  for (const { agent, scripts } of fleet) {
    if (filter.site !== undefined && agent.site !== filter.site) continue;
    if (filter.host !== undefined && agent.host !== filter.host) continue;
    for (const s of scripts) {
      if (filter.state !== undefined && s.state !== filter.state) continue;
      if (filter.health !== undefined && s.health !== filter.health) continue;
      if (
        q !== undefined && !s.name.toLowerCase().includes(q) &&
        !agent.host.toLowerCase().includes(q)
      ) continue;
      rows.push({
        site: agent.site,
        host: agent.host,
        agentOnline: agent.online,
        script: s.name,
        state: s.state,
        health: s.health,
        enabled: s.enabled,
        uptimeMs: s.uptimeMs,
        restarts: s.restarts,
        rssBytes: s.rssBytes,
        cpuPercent: s.cpuPercent,
        lastExit: s.lastExit,
        reason: s.reason,
        reportedAt: agent.lastSeenAt,
      });
    }
  }
  return rows;
}

/** Counts per site, by site name. */
export function siteSummaries(fleet: readonly AgentScripts[]): SiteSummary[] {
  const sites = new Map<string, SiteSummary>();
  for (const { agent, scripts } of fleet) {
    let summary = sites.get(agent.site);
    if (summary === undefined) {
      summary = {
        site: agent.site,
        agents: { online: 0, offline: 0 },
        scripts: { total: 0, running: 0, unhealthy: 0, crashLooping: 0, down: 0 },
      };
      sites.set(agent.site, summary);
    }
    summary.agents[agent.online ? "online" : "offline"]++;
    for (const s of scripts) {
      summary.scripts.total++;
      if (s.state === "running") summary.scripts.running++;
      if (s.health === "unhealthy") summary.scripts.unhealthy++;
      if (s.state === "crash-looping") summary.scripts.crashLooping++;
      if (isDown(s)) summary.scripts.down++;
    }
  }
  return [...sites.values()].sort((a, b) => a.site.localeCompare(b.site));
}
