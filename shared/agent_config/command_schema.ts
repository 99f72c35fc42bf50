/**
 * A script's or a token helper's `command`: an array of words, or one string
 * split by the shell's rules (`words.ts`), never empty.
 *
 * @module
 */
import { z } from "zod";
import { splitWords } from "./words.ts";
import { describeValue } from "../config/wording.ts";

/** The schema of a command; `example` shows one in the message, e.g. `["python", "x.py"]`. */
export function commandSchema(example: string) {
  return z.union([z.string(), z.array(z.string())], {
    error: (issue) =>
      `expected a command: an array of strings like ${example} or one string, got ${
        describeValue(issue.input)
      }`,
  }).check((ctx) => {
    let words: string[];
    try {
      words = typeof ctx.value === "string" ? splitWords(ctx.value) : ctx.value;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message: message.charAt(0).toLowerCase() + message.slice(1),
      });
      return;
    }
    if (words.length === 0 || words[0] === "") {
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message: `expected a non-empty command, got ${JSON.stringify(ctx.value)}`,
      });
    }
  });
}
