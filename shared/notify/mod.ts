/**
 * Notifications of both programs: the durable outbox with dedupe keys, the policy (flaps,
 * grouping, silences, repeats, routes), the one set of alert rules, webhook schemas and the
 * channels.
 *
 * @module
 */

export { scriptConditions } from "./alert_rules.ts";
export type { Condition, RuleContext, ScriptFacts } from "./alert_rules.ts";
export { tokenConditions, tokenWarnings } from "./alert_rules_tokens.ts";
export type { TokenFacts, TokenWarning } from "./alert_rules_tokens.ts";
export {
  codeBlock,
  cut,
  formatAlertShort,
  formatAlertText,
  formatTestText,
  SMS_MAX_CHARS,
  summarizeAlert,
} from "./format.ts";
export { MAX_RELAY_BODY_BYTES, Outbox } from "./outbox.ts";
export type { ListFilter } from "./outbox.ts";
export { eraseMessages } from "./outbox_erase.ts";
export { pruneMessages } from "./outbox_prune.ts";
export { AlertPolicy } from "./policy.ts";
export type { AlertPolicyOptions, PolicyOutput } from "./policy.ts";
export {
  notifyPolicySchema,
  resolveNotifyPolicy,
  SEVERITIES,
  unknownWebhooks,
} from "./policy_schema.ts";
export type { ResolvedNotifyPolicy } from "./policy_schema.ts";
export { queueDue } from "./queue_due.ts";
export { parseRouteRequest, routeRequestSchema, RuntimeRules } from "./runtime_rules.ts";
export { parseSilenceRequest } from "./silence_request.ts";
export { isActive, MATCHER_FIELDS } from "./silences.ts";
export type { Silence } from "./silences.ts";
export { sendMail, SmtpError } from "./smtp.ts";
export { MESSAGE_STATES } from "./types.ts";
export type {
  Alert,
  Channel,
  MessageRecord,
  MessageState,
  Payload,
  SendResult,
  Severity,
} from "./types.ts";
export {
  AWS_REGION,
  common,
  custom,
  emailAddress,
  isRecord,
  nonEmptyList,
  phoneNumber,
  port,
  secret,
  strictTable,
  text,
  TOPIC_ARN,
  webhookUrl,
} from "./webhook_fields.ts";
export { isLoopbackHost, redactUrl, resolveWebhook, webhookSchema } from "./webhook_schema.ts";
export type {
  ResolvedChatWebhook,
  ResolvedEmailWebhook,
  ResolvedJsonWebhook,
  ResolvedSnsWebhook,
  ResolvedTwilioWebhook,
  ResolvedWebhook,
} from "./webhook_schema.ts";
