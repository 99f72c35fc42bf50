/**
 * The fields webhook tables are made of (URLs, secrets, addresses, rates,
 * headers, the keys every webhook has), shared by the schema of each kind
 * beside its channel (`channels/chat_schema.ts`, `json_schema.ts`,
 * `email_schema.ts`, `sms_schema.ts`).
 *
 * @module
 */

import { z } from "zod";
import { DURATION_HINT } from "../config/units.ts";
import { duration as parsedDuration } from "../config/zod_units.ts";
import { describeValue } from "../config/wording.ts";

/** A rate as written: `"20/m"` (a count per s, m or h). */
export const RATE_LIMIT = /^(\d+)\/(s|m|h)$/;
/** Milliseconds per rate unit. */
export const RATE_UNITS = { s: 1_000, m: 60_000, h: 3_600_000 } as const;
/** An email address as the SMTP envelope takes it. */
export const EMAIL_ADDRESS = /^[^\s@<>()",;:\\[\]]+@[A-Za-z0-9.-]+$/;
/** A phone number in E.164: `+14155550123`. */
export const E164 = /^\+[1-9]\d{1,14}$/;
/** An AWS region name: `eu-west-1`. */
export const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
/** An SNS topic ARN. */
export const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
/** An HTTP header name (RFC 9110 token). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the json channel sets itself. */
export const RESERVED_HEADERS = ["content-type", "x-scriptmon-timestamp", "x-scriptmon-signature"];
/** The smallest HMAC key a json webhook accepts (bytes of text). */
export const MIN_SECRET_LENGTH = 16;

/** Hosts plain http:// is allowed for (tests, local relays). */
export const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

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

/** A zod custom issue (message first). */
export function custom(message: string, input: unknown) {
  return { code: "custom" as const, input, message };
}

/** A duration (parsed into `{ text, ms }`), any non-string named in the message. */
export const duration = z.string({
  error: (issue) => `expected ${DURATION_HINT}, got ${describeValue(issue.input)}`,
}).pipe(parsedDuration);

/** A rate limit as text: `"20/m"`. */
export const rateLimit = z.string({
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
export const webhookUrl = z.string({
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
export function secret(minLength = 1) {
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

/** A non-empty string. */
export const text = z.string({
  error: (issue) => `expected a string, got ${describeValue(issue.input)}`,
}).min(1, { error: 'expected a non-empty string, got ""' });

/**
 * A string `pattern` matches. `what` names it: `expected <what>, got 5`; a
 * string that does not match gets `expected <mismatch ?? what>, got "<shown>"`.
 */
export function matching(
  pattern: RegExp,
  what: string,
  options: { mismatch?: string; shown?: (text: string) => string } = {},
) {
  return z.string({
    error: (issue) => `expected ${what}, got ${describeValue(issue.input)}`,
  }).check((ctx) => {
    if (!pattern.test(ctx.value)) {
      const shown = options.shown?.(ctx.value) ?? ctx.value;
      ctx.issues.push(
        custom(`expected ${options.mismatch ?? what}, got ${JSON.stringify(shown)}`, ctx.value),
      );
    }
  });
}

/** One email address. */
export const emailAddress = matching(EMAIL_ADDRESS, 'an email address like "ops@example.com"');

/** One phone number in E.164. */
export const phoneNumber = matching(E164, 'an E.164 phone number like "+14155550100"');

/** A non-empty list of `item`; `one`/`many` name it in messages. */
export function nonEmptyList<T extends z.ZodType>(item: T, one: string, many: string) {
  return z.array(item, {
    error: (issue) => `expected an array of ${many}, got ${describeValue(issue.input)}`,
  }).min(1, { error: `expected at least one ${one}, got []` });
}

/** A strict table whose unknown keys are named along with the keys it does take. */
export function strictTable<S extends z.core.$ZodLooseShape>(shape: S) {
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

/** A TCP port, 1 to 65535. */
export const port = z.int({
  error: (issue) => `expected a port 1-65535, got ${describeValue(issue.input)}`,
})
  .min(1, { error: (issue) => `expected a port 1-65535, got ${describeValue(issue.input)}` })
  .max(65535, { error: (issue) => `expected a port 1-65535, got ${describeValue(issue.input)}` });

/** Extra HTTP headers: valid names, none the signature needs. */
export const headers = z.record(z.string(), z.string()).check((ctx) => {
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
export const common = {
  max_age: duration.optional(),
  on_uncertain: z.enum(["skip", "resend"], {
    error: (issue) => `expected "skip" or "resend", got ${describeValue(issue.input)}`,
  }).optional(),
  rate_limit: rateLimit.optional(),
  dedupe_window: duration.optional(),
  /**
   * `"site"`: the agent claims a relayed post's dedupe key at the collector too; `"machine"`:
   * among the agents of this workstation (users logged in at once).
   */
  dedupe_scope: z.enum(["agent", "site", "machine"]).optional(),
};

/** True for a plain table (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value's type as messages name it: "a string", "a table", "nothing". */
export function typeOf(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  return typeof value === "object" ? "a table" : `a ${typeof value}`;
}
