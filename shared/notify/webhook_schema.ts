/**
 * One `[webhooks.<name>]` table: the zod schema of the table as written
 * (strict: a typo is an error) and {@linkcode resolveWebhook}, which applies
 * the defaults and turns durations into milliseconds. The agent's and the
 * collector's config schemas embed {@linkcode webhookSchema} as
 * `webhooks: z.record(name, webhookSchema)`.
 *
 * Secrets (`secret`, `password`, `auth_token`, `secret_access_key`,
 * `session_token`) and webhook URLs (which carry a token in their path)
 * never appear in a message: a URL is shown as its origin only.
 *
 * @module
 */

import { z } from "zod";
import { DURATION_HINT, parseDuration } from "../config/units.ts";
import { checkDuration } from "../config/zod_units.ts";
import { describeValue } from "../config/wording.ts";

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

const RATE_LIMIT = /^(\d+)\/(s|m|h)$/;
const RATE_UNITS = { s: 1_000, m: 60_000, h: 3_600_000 } as const;
const EMAIL_ADDRESS = /^[^\s@<>()",;:\\[\]]+@[A-Za-z0-9.-]+$/;
const E164 = /^\+[1-9]\d{1,14}$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the json channel sets itself. */
const RESERVED_HEADERS = ["content-type", "x-scriptmon-timestamp", "x-scriptmon-signature"];
/** The smallest HMAC key a json webhook accepts (bytes of text). */
export const MIN_SECRET_LENGTH = 16;

/** Hosts plain http:// is allowed for (tests, local relays). */
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** True for a loopback host name or address, as URL.hostname writes it. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || hostname === "::1";
}

/** A URL as messages may show it: the origin only, since the path holds the token. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    return url.pathname === "/" && url.search === "" ? url.origin : `${url.origin}/...`;
  } catch {
    return "a value that is not a URL";
  }
}

function custom(message: string, input: unknown) {
  return { code: "custom" as const, input, message };
}

const duration = z.string({
  error: (issue) => `expected ${DURATION_HINT}, got ${describeValue(issue.input)}`,
}).check(checkDuration);

const rateLimit = z.string({
  error: (issue) => `expected a rate like "20/m", got ${describeValue(issue.input)}`,
}).check((ctx) => {
  const match = RATE_LIMIT.exec(ctx.value);
  if (match === null || Number(match[1]) < 1) {
    ctx.issues.push(
      custom(
        `expected a rate like "20/m" (a count of at least 1 per s, m or h), got ${
          JSON.stringify(ctx.value)
        }`,
        ctx.value,
      ),
    );
  }
});

/** https:// required; http:// only for a loopback host. The value is shown redacted. */
const webhookUrl = z.string({
  error: (issue) => `expected an https:// URL, got ${describeValue(issue.input)}`,
}).check((ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(ctx.value);
  } catch {
    // reported below
  }
  const ok = url !== undefined &&
    (url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname)));
  if (!ok) {
    const shown = url === undefined ? "a value that is not a URL" : redactUrl(ctx.value);
    ctx.issues.push(custom(`expected an https:// URL, got ${JSON.stringify(shown)}`, ctx.value));
  }
});

/** A required secret: non-empty, never shown. */
function secret(minLength = 1) {
  return z.string({ error: (issue) => `expected a secret string, got ${typeOf(issue.input)}` })
    .check((ctx) => {
      if (ctx.value.length < minLength) {
        ctx.issues.push(
          custom(
            `expected a secret of at least ${minLength} characters, got ${ctx.value.length}`,
            "[redacted]",
          ),
        );
      }
    });
}

const text = z.string({
  error: (issue) => `expected a string, got ${describeValue(issue.input)}`,
}).min(1, { error: 'expected a non-empty string, got ""' });

const emailAddress = z.string({
  error: (issue) =>
    `expected an email address like "ops@example.com", got ${describeValue(issue.input)}`,
}).check((ctx) => {
  if (!EMAIL_ADDRESS.test(ctx.value)) {
    ctx.issues.push(
      custom(
        `expected an email address like "ops@example.com", got ${JSON.stringify(ctx.value)}`,
        ctx.value,
      ),
    );
  }
});

const phoneNumber = z.string({
  error: (issue) =>
    `expected an E.164 phone number like "+14155550100", got ${describeValue(issue.input)}`,
}).check((ctx) => {
  if (!E164.test(ctx.value)) {
    ctx.issues.push(
      custom(
        `expected an E.164 phone number like "+14155550100", got ${JSON.stringify(ctx.value)}`,
        ctx.value,
      ),
    );
  }
});

function nonEmptyList<T extends z.ZodType>(item: T, one: string, many: string) {
  return z.array(item, {
    error: (issue) => `expected an array of ${many}, got ${describeValue(issue.input)}`,
  }).min(1, { error: `expected at least one ${one}, got []` });
}

/** A strict table whose unknown keys are named along with the keys it does take. */
function strictTable<S extends z.core.$ZodLooseShape>(shape: S) {
  const known = Object.keys(shape).map((key) => JSON.stringify(key)).join(", ");
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `expected only the keys ${known}, got ${
          issue.keys.map((key) => JSON.stringify(key)).join(", ")
        }`
        : undefined,
  });
}

const port = z.int({
  error: (issue) => `expected a port 1-65535, got ${describeValue(issue.input)}`,
})
  .min(1, { error: (issue) => `expected a port 1-65535, got ${describeValue(issue.input)}` })
  .max(65535, { error: (issue) => `expected a port 1-65535, got ${describeValue(issue.input)}` });

const headers = z.record(z.string(), z.string()).check((ctx) => {
  for (const [name, value] of Object.entries(ctx.value)) {
    const problem = !HEADER_NAME.test(name)
      ? `expected a header name of token characters, got ${JSON.stringify(name)}`
      : RESERVED_HEADERS.includes(name.toLowerCase())
      ? `expected a header the channel does not set itself, got ${JSON.stringify(name)}`
      : /[\r\n]/.test(value)
      ? `expected a header value on one line, got a line break in ${JSON.stringify(name)}`
      : undefined;
    if (problem !== undefined) {
      ctx.issues.push({ ...custom(problem, name), path: [name] });
    }
  }
});

/** The keys every webhook has. */
const common = {
  max_age: duration.optional(),
  on_uncertain: z.enum(["skip", "resend"], {
    error: (issue) => `expected "skip" or "resend", got ${describeValue(issue.input)}`,
  }).optional(),
  rate_limit: rateLimit.optional(),
  dedupe_window: duration.optional(),
  /** `"site"`: the agent claims a relayed post's dedupe key at the collector too. */
  dedupe_scope: z.enum(["agent", "site"]).optional(),
};

/** A chat webhook: Slack, Amazon Chime, Microsoft Teams (Workflows) or Discord. */
export const chatWebhookSchema = strictTable({
  kind: z.enum(["slack", "chime", "teams", "discord"]),
  ...common,
  url: webhookUrl,
});

/** A generic JSON receiver; every post is signed with HMAC-SHA256 of `secret`. */
export const jsonWebhookSchema = strictTable({
  kind: z.literal("json"),
  ...common,
  url: webhookUrl,
  secret: secret(MIN_SECRET_LENGTH),
  headers: headers.optional(),
});

/** Email through an SMTP server. */
export const emailWebhookSchema = strictTable({
  kind: z.literal("email"),
  ...common,
  smtp_host: text,
  smtp_port: port.optional(),
  starttls: z.boolean().optional(),
  tls: z.boolean().optional(),
  username: text.optional(),
  password: secret().optional(),
  /** PEM file of extra CA certificates; the caller reads it and passes `caCerts`. */
  ca_file: text.optional(),
  from: emailAddress,
  to: nonEmptyList(emailAddress, "email address", "email addresses"),
}).superRefine((email, ctx) => {
  if ((email.username === undefined) !== (email.password === undefined)) {
    const missing = email.username === undefined ? "username" : "password";
    const present = missing === "username" ? "password" : "username";
    ctx.addIssue({
      ...custom(`expected ${missing} together with ${present}, got ${present} alone`, undefined),
      path: [missing],
    });
  }
  if (email.tls === true && email.starttls === true) {
    ctx.addIssue({
      ...custom(
        "expected starttls = false with tls = true (implicit TLS needs no STARTTLS), got both true",
        true,
      ),
      path: ["starttls"],
    });
  }
}, { when: () => true });

/** SMS through Twilio's Messages API. */
export const twilioSmsSchema = strictTable({
  kind: z.literal("sms"),
  provider: z.literal("twilio"),
  ...common,
  account_sid: z.string({
    error: (issue) => `expected a Twilio account SID, got ${describeValue(issue.input)}`,
  }).check((ctx) => {
    if (!/^AC[0-9a-fA-F]{32}$/.test(ctx.value)) {
      ctx.issues.push(
        custom(
          `expected a Twilio account SID like "AC" and 32 hex digits, got ${
            JSON.stringify(ctx.value.slice(0, 40))
          }`,
          ctx.value,
        ),
      );
    }
  }),
  auth_token: secret(),
  from: phoneNumber,
  to: nonEmptyList(phoneNumber, "phone number", "phone numbers"),
  api_base: webhookUrl.optional(),
});

/** SMS through Amazon SNS Publish (a topic, or phone numbers directly). */
export const snsSmsSchema = strictTable({
  kind: z.literal("sms"),
  provider: z.literal("sns"),
  ...common,
  region: z.string({
    error: (issue) => `expected an AWS region like "eu-west-1", got ${describeValue(issue.input)}`,
  }).check((ctx) => {
    if (!AWS_REGION.test(ctx.value)) {
      ctx.issues.push(
        custom(
          `expected an AWS region like "eu-west-1", got ${JSON.stringify(ctx.value)}`,
          ctx.value,
        ),
      );
    }
  }),
  access_key_id: text,
  secret_access_key: secret(),
  session_token: secret().optional(),
  topic_arn: z.string({
    error: (issue) => `expected an SNS topic ARN, got ${describeValue(issue.input)}`,
  }).check((ctx) => {
    if (!TOPIC_ARN.test(ctx.value)) {
      ctx.issues.push(
        custom(
          `expected an SNS topic ARN like "arn:aws:sns:eu-west-1:123456789012:ops", got ${
            JSON.stringify(ctx.value)
          }`,
          ctx.value,
        ),
      );
    }
  }).optional(),
  phone_numbers: nonEmptyList(phoneNumber, "phone number", "phone numbers").optional(),
  endpoint: webhookUrl.optional(),
}).superRefine((sns, ctx) => {
  if ((sns.topic_arn === undefined) === (sns.phone_numbers === undefined)) {
    ctx.addIssue({
      ...custom(
        `expected exactly one of topic_arn or phone_numbers, got ${
          sns.topic_arn === undefined ? "neither" : "both"
        }`,
        undefined,
      ),
      path: ["topic_arn"],
    });
  }
}, { when: () => true });

/** `kind = "sms"`: its keys depend on `provider`. */
export const smsWebhookSchema = z.discriminatedUnion("provider", [twilioSmsSchema, snsSmsSchema], {
  error: (issue) => {
    if (issue.code !== "invalid_union") return undefined;
    const provider = isRecord(issue.input) ? issue.input.provider : undefined;
    return `expected provider "twilio" or "sns", got ${describeValue(provider)}`;
  },
});

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

/** One `[webhooks.<name>]` table as written (validated, defaults not applied). */
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
  /** `"site"`: a relayed post is claimed site-wide at the collector (an agent's config only). */
  dedupeScope?: "site";
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
 * @throws {SyntaxError} when a duration or rate does not parse (not after `webhookSchema`).
 */
export function resolveWebhook(name: string, parsed: WebhookConfig): ResolvedWebhook {
  const base: ResolvedCommon = {
    name,
    maxAgeMs: parseDuration(parsed.max_age ?? WEBHOOK_DEFAULTS.max_age),
    onUncertain: parsed.on_uncertain ?? WEBHOOK_DEFAULTS.on_uncertain,
    dedupeWindowMs: parseDuration(parsed.dedupe_window ?? WEBHOOK_DEFAULTS.dedupe_window),
    ...(parsed.dedupe_scope === "site" ? { dedupeScope: "site" as const } : {}),
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function typeOf(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  return typeof value === "object" ? "a table" : `a ${typeof value}`;
}
