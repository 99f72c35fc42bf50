/**
 * One `[webhooks.<name>]` table: the zod schema of the table as written,
 * the union of each kind's schema (beside its channel in `channels/`;
 * strict: a typo is an error; durations parsed there), and
 * {@linkcode resolveWebhook}, which applies the defaults and takes the
 * milliseconds. The agent's and the collector's config schemas embed
 * {@linkcode webhookSchema} as `webhooks: namedRecord(webhookSchema, "webhook")`.
 *
 * Secrets (`secret`, `password`, `auth_token`, `secret_access_key`,
 * `session_token`) and webhook URLs (which carry a token in their path)
 * never appear in a message: a URL is shown as its origin only.
 *
 * @module
 */

import { z } from "zod";
import { msOf } from "../config/zod_units.ts";
import { describeValue } from "../config/wording.ts";
import { isRecord, RATE_LIMIT, RATE_UNITS } from "./webhook_fields.ts";
import { chatWebhookSchema } from "./channels/chat_schema.ts";
import { emailWebhookSchema } from "./channels/email_schema.ts";
import { jsonWebhookSchema } from "./channels/json_schema.ts";
import { smsWebhookSchema } from "./channels/sms_schema.ts";

export { isLoopbackHost, MIN_SECRET_LENGTH, redactUrl } from "./webhook_fields.ts";

/** The kinds of destination a webhook may be. */
export const WEBHOOK_KINDS = [
  "slack",
  "chime",
  "teams",
  "discord",
  "json",
  "email",
  "sms",
] as const;

/** SMS providers. */
export const SMS_PROVIDERS = ["twilio", "sns"] as const;

/** Defaults of the keys every webhook has, in the units of the TOML file. */
export const WEBHOOK_DEFAULTS = {
  max_age: "1d",
  on_uncertain: "skip",
  dedupe_window: "10m",
  smtp_port: 587,
  starttls: true,
  tls: false,
  twilio_api_base: "https://api.twilio.com",
} as const;

/** One `[webhooks.<name>]` table as written: its keys depend on `kind`. */
export const webhookSchema = z.discriminatedUnion(
  "kind",
  [chatWebhookSchema, jsonWebhookSchema, emailWebhookSchema, smsWebhookSchema],
  {
    error: (issue) => {
      if (issue.code !== "invalid_union") return undefined;
      const kind = isRecord(issue.input) ? issue.input.kind : undefined;
      return `expected kind ${WEBHOOK_KINDS.map((k) => JSON.stringify(k)).join(", ")}, got ${
        describeValue(kind)
      }`;
    },
  },
);

/** One `[webhooks.<name>]` table as written (validated, durations parsed, defaults not applied). */
export type WebhookConfig = z.infer<typeof webhookSchema>;

/** A count of messages per period, from `rate_limit = "20/m"`. */
export interface RateLimit {
  count: number;
  perMs: number;
}

/** What every resolved webhook has. */
interface ResolvedCommon {
  name: string;
  /** Messages older than this are dead-lettered instead of sent. */
  maxAgeMs: number;
  /** What to do with a message whose send crashed mid-flight. */
  onUncertain: "skip" | "resend";
  rateLimit?: RateLimit;
  /** How long a relayed post's content hash stays claimed. */
  dedupeWindowMs: number;
  /**
   * `"site"`: a relayed post is claimed site-wide at the collector; `"machine"`: among the
   * agents of this workstation (an agent's config only).
   */
  dedupeScope?: "site" | "machine";
}

/** A resolved Slack, Chime, Teams or Discord webhook. */
export interface ResolvedChatWebhook extends ResolvedCommon {
  kind: "slack" | "chime" | "teams" | "discord";
  url: string;
}

/** A resolved generic JSON webhook. */
export interface ResolvedJsonWebhook extends ResolvedCommon {
  kind: "json";
  url: string;
  secret: string;
  headers: Record<string, string>;
}

/** A resolved email destination. */
export interface ResolvedEmailWebhook extends ResolvedCommon {
  kind: "email";
  smtpHost: string;
  smtpPort: number;
  starttls: boolean;
  tls: boolean;
  username?: string;
  password?: string;
  /** Read by the caller, which passes the certificates as `caCerts`. */
  caFile?: string;
  from: string;
  to: string[];
}

/** A resolved Twilio SMS destination. */
export interface ResolvedTwilioWebhook extends ResolvedCommon {
  kind: "sms";
  provider: "twilio";
  accountSid: string;
  authToken: string;
  from: string;
  to: string[];
  apiBase: string;
}

/** A resolved Amazon SNS SMS destination. */
export interface ResolvedSnsWebhook extends ResolvedCommon {
  kind: "sms";
  provider: "sns";
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  topicArn?: string;
  phoneNumbers?: string[];
  endpoint: string;
}

/** A webhook with its defaults applied, ready for `createChannel`. */
export type ResolvedWebhook =
  | ResolvedChatWebhook
  | ResolvedJsonWebhook
  | ResolvedEmailWebhook
  | ResolvedTwilioWebhook
  | ResolvedSnsWebhook;

/** Parses `"20/m"` into a count per period. @throws {SyntaxError} when it is not a rate. */
export function parseRateLimit(text: string): RateLimit {
  const match = RATE_LIMIT.exec(text);
  if (match === null || Number(match[1]) < 1) {
    throw new SyntaxError(`Expected a rate like "20/m", got ${JSON.stringify(text)}`);
  }
  return { count: Number(match[1]), perMs: RATE_UNITS[match[2] as keyof typeof RATE_UNITS] };
}

/**
 * Applies the defaults to a validated `[webhooks.<name>]` table.
 *
 * @throws {SyntaxError} when a rate does not parse (not after `webhookSchema`).
 */
export function resolveWebhook(name: string, parsed: WebhookConfig): ResolvedWebhook {
  const base: ResolvedCommon = {
    name,
    maxAgeMs: msOf(parsed.max_age ?? WEBHOOK_DEFAULTS.max_age),
    onUncertain: parsed.on_uncertain ?? WEBHOOK_DEFAULTS.on_uncertain,
    dedupeWindowMs: msOf(parsed.dedupe_window ?? WEBHOOK_DEFAULTS.dedupe_window),
    ...(parsed.dedupe_scope === "site" || parsed.dedupe_scope === "machine"
      ? { dedupeScope: parsed.dedupe_scope }
      : {}),
    ...(parsed.rate_limit === undefined ? {} : { rateLimit: parseRateLimit(parsed.rate_limit) }),
  };
  switch (parsed.kind) {
    case "slack":
    case "chime":
    case "teams":
    case "discord":
      return { ...base, kind: parsed.kind, url: parsed.url };
    case "json":
      return {
        ...base,
        kind: "json",
        url: parsed.url,
        secret: parsed.secret,
        headers: { ...parsed.headers },
      };
    case "email": {
      const tls = parsed.tls ?? WEBHOOK_DEFAULTS.tls;
      return {
        ...base,
        kind: "email",
        smtpHost: parsed.smtp_host,
        smtpPort: parsed.smtp_port ?? (tls ? 465 : WEBHOOK_DEFAULTS.smtp_port),
        tls,
        starttls: tls ? false : parsed.starttls ?? WEBHOOK_DEFAULTS.starttls,
        ...optional("username", parsed.username),
        ...optional("password", parsed.password),
        ...optional("caFile", parsed.ca_file),
        from: parsed.from,
        to: [...parsed.to],
      };
    }
    case "sms":
      if (parsed.provider === "twilio") {
        return {
          ...base,
          kind: "sms",
          provider: "twilio",
          accountSid: parsed.account_sid,
          authToken: parsed.auth_token,
          from: parsed.from,
          to: [...parsed.to],
          apiBase: (parsed.api_base ?? WEBHOOK_DEFAULTS.twilio_api_base).replace(/\/+$/, ""),
        };
      }
      return {
        ...base,
        kind: "sms",
        provider: "sns",
        region: parsed.region,
        accessKeyId: parsed.access_key_id,
        secretAccessKey: parsed.secret_access_key,
        ...optional("sessionToken", parsed.session_token),
        ...optional("topicArn", parsed.topic_arn),
        ...(parsed.phone_numbers === undefined ? {} : { phoneNumbers: [...parsed.phone_numbers] }),
        endpoint: (parsed.endpoint ?? `https://sns.${parsed.region}.amazonaws.com`).replace(
          /\/+$/,
          "",
        ),
      };
  }
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
