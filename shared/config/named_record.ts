/**
 * Tables of named tables, `[scripts.<name>]`, `[webhooks.<name>]`,
 * `[tokens.<name>]`: the names both programs accept and the one wording for
 * those they refuse.
 *
 * @module
 */
import { z } from "zod";
import { customIssue } from "./zod_units.ts";

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
