/**
 * `notifications`: every message of the collector's outbox (alerts, digests, test messages) with where
 * it went and how it ended (`shared/notify/types.ts`: `MessageRecord`). Finished ones are kept
 * for `retention`. A caller of some sites sees the messages about them as
 * `GET /api/v1/notifications` shows them (a grouped message led by one of its alerts).
 *
 * @module
 */

import type { MessageRecord } from "../../shared/notify/types.ts";
import { scopedMessage } from "../api/alerting_routes.ts";
import { covers, type Dataset, isoTime, type Row } from "./dataset.ts";

/** Messages read from the outbox at a time. */
const PAGE = 200;

/** A message as a row of {@linkcode NOTIFICATIONS}. */
export function notificationRow(message: MessageRecord): Row {
  const alert = message.payload.type === "alert" ? message.payload.alert : null;
  return {
    id: message.id,
    channel: message.channel,
    state: message.state,
    created_at: message.createdAt,
    updated_at: message.updatedAt,
    sent_at: message.state === "sent" ? message.updatedAt : null,
    attempts: message.attempts,
    provider_status: message.providerStatus ?? null,
    kind: message.payload.type,
    rule: alert?.rule ?? null,
    severity: alert?.severity ?? null,
    status: alert?.status ?? null,
    site: alert?.site ?? null,
    host: alert?.host ?? null,
    script: alert?.script ?? null,
    title: alert?.title ?? null,
    alert_count: alert === null ? null : 1 + (alert.group?.length ?? 0),
  };
}

/** The dataset: one row per message, newest first. */
export const NOTIFICATIONS: Dataset = {
  name: "notifications",
  description:
    "Every message the collector queued for its webhooks: channel, state, attempts, the alert it carries",
  window: "the messages created in it",
  allSites: false,
  columns: [
    { name: "id", type: "text", description: "The message's id (as in /api/v1/notifications)" },
    { name: "channel", type: "text", description: "The webhook it goes to ([webhooks.<name>])" },
    {
      name: "state",
      type: "text",
      description:
        "queued, sending, sent, retrying, failed, dead-lettered, uncertain, duplicate or silenced",
    },
    { name: "created_at", type: "timestamp", description: "When it was queued" },
    { name: "updated_at", type: "timestamp", description: "Its last change of state" },
    { name: "sent_at", type: "timestamp", description: "When it was sent; null unless sent" },
    { name: "attempts", type: "integer", description: "Delivery attempts" },
    {
      name: "provider_status",
      type: "integer",
      description: "The HTTP status of the provider's last answer, or null",
    },
    {
      name: "kind",
      type: "text",
      description: "alert (a digest too: rule report), relay (a script's post) or test",
    },
    { name: "rule", type: "text", description: "The alert's rule; null unless an alert" },
    { name: "severity", type: "text", description: "The alert's severity, or null" },
    { name: "status", type: "text", description: "firing or resolved, or null" },
    { name: "site", type: "text", description: "The alert's site, or null" },
    { name: "host", type: "text", description: "The alert's workstation, or null" },
    { name: "script", type: "text", description: "The alert's script, or null" },
    { name: "title", type: "text", description: "The alert's title, or null" },
    {
      name: "alert_count",
      type: "integer",
      description: "Alerts in the message (grouped ones included); null unless an alert",
    },
  ],
  async *rows(source, query) {
    let before: string | undefined;
    for (;;) {
      const page = await source.outbox.list({
        since: isoTime(query.since),
        until: isoTime(query.until),
        ...(before === undefined ? {} : { before }),
        limit: PAGE,
      });
      if (page.length === 0) return;
      for (const message of page) {
        const seen = query.sites === undefined
          ? message
          : scopedMessage(message, (site) => covers(query, site));
        if (seen !== null) yield notificationRow(seen);
      }
      before = page.at(-1)!.id;
    }
  },
};
