/**
 * Messages out: the notifier (the agent's alert rules through the shared policy and outbox,
 * relayed posts with their dedupe key), site-wide relay claims and the webhook test ping.
 *
 * @module
 */

export type { AlertContext, Condition } from "./alert_rules.ts";
export { Notifier, UnknownWebhookError } from "./notifier.ts";
export { SiteClaims } from "./site_claim.ts";
export { pingWebhooks, redactConfig } from "./webhook_ping.ts";
