/**
 * `config_changes`: every version of the fleet's central config (`collector/central/`): who
 * changed what, when, why, and who runs it. Versions are kept for good. Fleet-wide: only for
 * callers of every site.
 *
 * @module
 */

import type { ConfigVersion } from "../central/mod.ts";
import type { Dataset, Row } from "./dataset.ts";

/** A version as a row of {@linkcode CONFIG_CHANGES}. */
export function configChangeRow(version: ConfigVersion): Row {
  return {
    version: version.version,
    changed_at: version.at,
    changed_by: version.by,
    why: version.why,
    action: version.action,
    documents: version.changed.join(" "),
    rollback_to: version.rollbackTo ?? null,
    rollout: version.rollout,
  };
}

/** The dataset: one row per version, oldest first. */
export const CONFIG_CHANGES: Dataset = {
  name: "config_changes",
  description: "Every version of the central config: who changed which documents, when and why",
  window: "the versions made in it",
  allSites: true,
  columns: [
    { name: "version", type: "integer", description: "The version number, from 1" },
    { name: "changed_at", type: "timestamp", description: "When it was made" },
    {
      name: "changed_by",
      type: "text",
      description: "Who made it (user:<name>, api-token:<name>)",
    },
    { name: "why", type: "text", description: "Why, in their words" },
    { name: "action", type: "text", description: "edit, delete or rollback" },
    {
      name: "documents",
      type: "text",
      description: "The documents it changed, separated by spaces (fleet site:FC1 agent:FC1/ws-01)",
    },
    {
      name: "rollback_to",
      type: "integer",
      description: "The version a rollback restored; null for other actions",
    },
    {
      name: "rollout",
      type: "text",
      description: "Who runs it: one agent, a site or the fleet (widened by promoting)",
    },
  ],
  async *rows(source, query) {
    for (const version of await source.central.versions()) {
      const at = Date.parse(version.at);
      if (at >= query.since && at < query.until) yield configChangeRow(version);
    }
  },
};
