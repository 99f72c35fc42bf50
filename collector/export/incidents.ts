/**
 * `incidents`: one row per alert episode, from its firing to its resolution, as the collector
 * keeps them (`collector/store/alerts.ts`): resolved ones for `retention`, firing ones however old.
 *
 * @module
 */

import type { AlertRecord } from "../store/alerts.ts";
import { covers, type Dataset, type Row } from "./dataset.ts";

/** An alert record as a row of {@linkcode INCIDENTS}. */
export function incidentRow(alert: AlertRecord): Row {
  return {
    id: alert.id,
    site: alert.site,
    host: alert.host,
    script: alert.script,
    check_name: alert.check,
    rule: alert.rule,
    severity: alert.severity,
    title: alert.title,
    started_at: alert.firedAt,
    resolved_at: alert.resolvedAt,
    duration_seconds: alert.resolvedAt === null
      ? null
      : (Date.parse(alert.resolvedAt) - Date.parse(alert.firedAt)) / 1000,
    acknowledged_by: alert.acknowledgedBy,
    acknowledged_at: alert.acknowledgedAt,
  };
}

/** The dataset: one row per alert episode. */
export const INCIDENTS: Dataset = {
  name: "incidents",
  description: "Every alert episode: what fired where, when it resolved, who acknowledged it",
  window: "the incidents that started in it",
  allSites: false,
  columns: [
    { name: "id", type: "text", description: "The alert's id (as in /api/v1/alerts)" },
    { name: "site", type: "text", description: "The site (FC)" },
    { name: "host", type: "text", description: "The workstation" },
    { name: "script", type: "text", description: "The script; null for an agent's own alert" },
    {
      name: "check_name",
      type: "text",
      description: "The health check (heartbeat, probe:api, memory...), or null",
    },
    {
      name: "rule",
      type: "text",
      description: "The rule that fired (script-down, crash-looping, agent-offline...)",
    },
    { name: "severity", type: "text", description: "critical, warning or info" },
    { name: "title", type: "text", description: "The alert's one-line title" },
    { name: "started_at", type: "timestamp", description: "When it fired" },
    { name: "resolved_at", type: "timestamp", description: "When it resolved; null while firing" },
    {
      name: "duration_seconds",
      type: "number",
      description: "Seconds from started to resolved; null while firing",
    },
    {
      name: "acknowledged_by",
      type: "text",
      description: "Who acknowledged it (user:<name>, api-token:<name>), or null",
    },
    { name: "acknowledged_at", type: "timestamp", description: "When, or null" },
  ],
  async *rows(source, query) {
    for await (const alert of source.store.alerts.fired(query)) {
      if (covers(query, alert.site)) yield incidentRow(alert);
    }
  },
};
