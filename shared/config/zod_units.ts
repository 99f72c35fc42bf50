/**
 * The zod pieces both programs' config schemas are made of: durations,
 * sizes and time zones written as strings and checked with one wording
 * (`expected a duration like "30s", "5m" or "1h30m", got "soon"`), and the
 * custom issue they raise.
 *
 * A duration or size is parsed once, by the schema: the config as written
 * (`z.input`) holds the strings, the parsed one (`z.output`) holds
 * `{ text, ms }` or `{ text, bytes }`. The resolvers take the numbers; the
 * text stays for the messages that quote a value as written (`expected
 * max_delay >= min_delay (5s), got "1s"`).
 *
 * @module
 */
import { z } from "zod";
import { DURATION_HINT, parseDuration, parseSize, SIZE_HINT } from "./units.ts";

/** A zod custom issue on `input` with our `message`. */
export function customIssue(input: unknown, message: string) {
  return { code: "custom" as const, input, message };
}

/** A duration as written and in milliseconds: parsed once, by the schema. */
export interface Duration {
  /** As written: `"1h30m"`, quoted as is in messages. */
  text: string;
  ms: number;
}

/** A size as written and in bytes: parsed once, by the schema. */
export interface Size {
  /** As written: `"10MB"`, quoted as is in messages. */
  text: string;
  bytes: number;
}

/** Milliseconds of a parsed duration, or of a default (a constant written as text). */
export function msOf(value: Duration | string): number {
  return typeof value === "string" ? parseDuration(value) : value.ms;
}

/** Bytes of a parsed size, or of a default (a constant written as text). */
export function bytesOf(value: Size | string): number {
  return typeof value === "string" ? parseSize(value) : value.bytes;
}

/** The text as written of a parsed duration or size, or of a default. */
export function textOf(value: Duration | Size | string): string {
  return typeof value === "string" ? value : value.text;
}

/** A string parsed by `parse`, or one issue `expected <hint>, got "<text>"`. */
function parsedText<T>(parse: (text: string) => T, hint: string) {
  return z.string().transform((text, ctx) => {
    try {
      return parse(text);
    } catch {
      ctx.issues.push(customIssue(text, `expected ${hint}, got ${JSON.stringify(text)}`));
      return z.NEVER;
    }
  });
}

/** A duration: `"30s"`, `"5m"`, `"1h30m"`, parsed into {@linkcode Duration}. */
export const duration = parsedText(
  (text): Duration => ({ text, ms: parseDuration(text) }),
  DURATION_HINT,
);

/** A size: `"512KB"`, `"10MB"`, `"1GiB"`, parsed into {@linkcode Size}. */
export const size = parsedText((text): Size => ({ text, bytes: parseSize(text) }), SIZE_HINT);

/**
 * A duration of at least `minMs`; `bound` says it in the message, e.g. `"> 0"`
 * or `">= 1s"`. Text that is no duration at all is reported once, by `duration`.
 */
export function durationAtLeast(minMs: number, bound: string) {
  return duration.check((ctx) => {
    if (ctx.value.ms < minMs) {
      ctx.issues.push(
        customIssue(
          ctx.value.text,
          `expected a duration ${bound}, got ${JSON.stringify(ctx.value.text)}`,
        ),
      );
    }
  });
}

/** A duration longer than zero. */
export const positiveDuration = durationAtLeast(1, "> 0");

/** An IANA time zone the runtime knows: `"Europe/Berlin"`, `"UTC"`. */
export const timezone = z.string().check((ctx) => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: ctx.value });
  } catch {
    ctx.issues.push(
      customIssue(
        ctx.value,
        `expected an IANA time zone like "Europe/Berlin" or "UTC", got ${
          JSON.stringify(ctx.value)
        }`,
      ),
    );
  }
});

/** An `http://` or `https://` URL (probes, token validation). */
export const httpUrl = z.string().check((ctx) => {
  let protocol = "";
  try {
    protocol = new URL(ctx.value).protocol;
  } catch {
    // not a URL at all
  }
  if (protocol !== "http:" && protocol !== "https:") {
    ctx.issues.push(
      customIssue(
        ctx.value,
        `expected an http:// or https:// URL, got ${JSON.stringify(ctx.value)}`,
      ),
    );
  }
});
