/**
 * The zod pieces both programs' config schemas are made of: durations,
 * sizes and time zones written as strings and checked with one wording
 * (`expected a duration like "30s", "5m" or "1h30m", got "soon"`), and the
 * custom issue they raise. The resolvers turn the checked text into numbers
 * with `parseDuration` and `parseSize`.
 *
 * @module
 */
import { z } from "zod";
import { DURATION_HINT, parseDuration, parseSize, SIZE_HINT } from "./units.ts";

/** A zod custom issue on `input` with our `message`. */
export function customIssue(input: unknown, message: string) {
  return { code: "custom" as const, input, message };
}

/** The check of a duration's text: `"30s"`, `"5m"`, `"1h30m"`. */
export function checkDuration(ctx: z.core.ParsePayload<string>): void {
  try {
    parseDuration(ctx.value);
  } catch {
    ctx.issues.push(
      customIssue(ctx.value, `expected ${DURATION_HINT}, got ${JSON.stringify(ctx.value)}`),
    );
  }
}

/** A duration as text. */
export const duration = z.string().check(checkDuration);

/** A size as text: `"512KB"`, `"10MB"`, `"1GiB"`. */
export const size = z.string().check((ctx) => {
  try {
    parseSize(ctx.value);
  } catch {
    ctx.issues.push(
      customIssue(ctx.value, `expected ${SIZE_HINT}, got ${JSON.stringify(ctx.value)}`),
    );
  }
});

/**
 * A duration of at least `minMs`; `bound` says it in the message, e.g. `"> 0"`
 * or `">= 1s"`. Text that is no duration at all is reported once, by `duration`.
 */
export function durationAtLeast(minMs: number, bound: string) {
  return duration.check((ctx) => {
    let ms: number;
    try {
      ms = parseDuration(ctx.value);
    } catch {
      return;
    }
    if (ms < minMs) {
      ctx.issues.push(
        customIssue(ctx.value, `expected a duration ${bound}, got ${JSON.stringify(ctx.value)}`),
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

/** Names of scripts, webhooks and tokens: letters, digits, "_" and "-". */
export const NAME_PATTERN: RegExp = /^[A-Za-z0-9_-]+$/;

/**
 * A table of named tables (`[webhooks.<name>]`): every name checked against
 * {@linkcode NAME_PATTERN} and `reserved` words, all names reported at once.
 */
export function namedRecord<T extends z.ZodType>(
  value: T,
  what: string,
  options: { reserved?: Readonly<Record<string, string>> } = {},
) {
  return z.record(z.string(), value).superRefine((table, ctx) => {
    for (const name of Object.keys(table)) {
      const reserved = options.reserved?.[name];
      if (reserved !== undefined) {
        ctx.addIssue({
          ...customIssue(name, `"${name}" cannot name a ${what}: ${reserved}`),
          path: [name],
        });
      } else if (!NAME_PATTERN.test(name)) {
        ctx.addIssue({
          ...customIssue(
            name,
            `expected a ${what} name of letters, digits, "_" and "-", got ${JSON.stringify(name)}`,
          ),
          path: [name],
        });
      }
    }
  }, { when: () => true });
}

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
