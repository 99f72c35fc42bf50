/**
 * Zod issues in our words, for both programs' config files and the
 * collector's request bodies: a dotted path and a message that says what was
 * expected and the value found (`events.3.seq: expected a positive integer,
 * got -1`). The loader that knows the file adds the line, and `ConfigError`
 * prints `file:line: path: message`.
 *
 * One wording; the few points where the agent's config and the collector
 * have always worded things differently are the fields of
 * {@linkcode IssueWording}, so each keeps its messages exactly.
 *
 * @module
 */

import type { z } from "zod";
import { describeJsonValue } from "./wording.ts";

/** One problem: dotted path ("" for the whole input) and a message. */
export interface Problem {
  path: string;
  message: string;
}

/** The points where a wording may differ; {@linkcode JSON_WORDING} is the default. */
export interface IssueWording {
  /** A value after "got": `"soon"`, `a table`. */
  got(value: unknown): string;
  /** The noun of an expected table or record: `"a table"`, `"an object"`. */
  table: string;
  /**
   * Bounds of numbers and arrays: `"plain"` says `a number >= 0` for both;
   * `"typed"` says `a non-negative integer`, `an integer <= 65535`, `at least 1 items`.
   */
  bounds: "plain" | "typed";
  /**
   * Messages of custom checks and unions: `"as written"`; or `"with value"`:
   * lower-cased, with `, got <value>` added (to a union's always, to others
   * that name no value).
   */
  messages: "as written" | "with value";
  /** The message for an unknown `key` of the table at `path` holding `input`. */
  unknownKey(path: readonly PropertyKey[], key: string, input: unknown): string;
}

/** JSON's words: `an object`, `an array`, typed bounds, zod's messages with the value. */
export const JSON_WORDING: IssueWording = {
  got: describeJsonValue,
  table: "an object",
  bounds: "typed",
  messages: "with value",
  unknownKey: (_path, key) => `unknown key ${JSON.stringify(key)}`,
};

/** Options of {@linkcode describeIssue}. */
export interface DescribeIssueOptions {
  /** The schema that was parsed: says "integer" where a field is one (typed bounds). */
  schema?: z.ZodType;
  /** Prepended to every path. */
  prefix?: string[];
  /** Default {@linkcode JSON_WORDING}. */
  wording?: IssueWording;
}

const NOUNS: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  array: "an array",
  null: "null",
};

/** Turns one zod issue into problems (an unknown-keys issue gives one per key). */
export function describeIssue(
  issue: z.core.$ZodIssue,
  options: DescribeIssueOptions = {},
): Problem[] {
  const words = options.wording ?? JSON_WORDING;
  const parts = [...(options.prefix ?? []), ...issue.path.map(String)];
  const path = parts.join(".");
  const got = words.got(issue.input);
  const one = (message: string): Problem[] => [{ path, message }];
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => ({
        path: [...parts, key].join("."),
        message: words.unknownKey(issue.path, key, issue.input),
      }));
    case "invalid_type": {
      const table = issue.expected === "object" || issue.expected === "record";
      const noun = table ? words.table : NOUNS[issue.expected] ?? issue.expected;
      return one(`expected ${noun}, got ${got}`);
    }
    case "invalid_value":
      return one(
        `expected ${issue.values.length === 1 ? "" : "one of "}${
          issue.values.map((v) => JSON.stringify(v)).join(", ")
        }, got ${got}`,
      );
    case "too_small":
    case "too_big":
      return one(boundMessage(issue, got, words, options.schema));
    case "invalid_format": {
      const what = issue.format === "regex" && "pattern" in issue
        ? `a string matching ${String(issue.pattern)}`
        : issue.format;
      return one(`expected ${what}, got ${got}`);
    }
    case "invalid_union":
      return one(
        words.messages === "as written"
          ? issue.message
          : `${lowerFirst(issue.message)}, got ${got}`,
      );
    default: {
      if (words.messages === "as written") return one(issue.message);
      const message = lowerFirst(issue.message);
      return one(/, got /.test(message) ? message : `${message}, got ${got}`);
    }
  }
}

/** `expected a non-empty string, got ""`, `expected an integer <= 65535, got 70000`. */
function boundMessage(
  issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig,
  got: string,
  words: IssueWording,
  schema: z.ZodType | undefined,
): string {
  const small = issue.code === "too_small";
  const bound = Number(small ? issue.minimum : issue.maximum);
  const op = small ? (issue.inclusive ? ">=" : ">") : (issue.inclusive ? "<=" : "<");
  if (issue.origin === "string") {
    const what = small && bound === 1
      ? "a non-empty string"
      : `a string of ${small ? "at least" : "at most"} ${bound} characters`;
    return `expected ${what}, got ${got}`;
  }
  if (words.bounds === "plain") return `expected a number ${op} ${bound}, got ${got}`;
  if (issue.origin === "array") {
    const length = Array.isArray(issue.input) ? issue.input.length : "?";
    return `expected ${small ? "at least" : "at most"} ${bound} items, got ${length}`;
  }
  const integer = isInteger(schema && schemaAt(schema, issue.path));
  const noun = integer ? "integer" : "number";
  if (small && bound === 0) {
    return `expected ${issue.inclusive ? "a non-negative" : "a positive"} ${noun}, got ${got}`;
  }
  return `expected ${integer ? "an integer" : "a number"} ${op} ${bound}, got ${got}`;
}

type Internals = {
  def: {
    type: string;
    shape?: Record<string, z.ZodType>;
    element?: z.ZodType;
    innerType?: z.ZodType;
    valueType?: z.ZodType;
    in?: z.ZodType;
    checks?: { _zod: { def: { format?: string } } }[];
  };
  bag: { format?: string };
};

/** The sub-schema of `schema` at `path`, through objects, arrays, records and wrappers. */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = schema;
  let index = 0;
  while (current !== undefined) {
    const def: Internals["def"] = (current as unknown as { _zod: Internals })._zod.def;
    if (def.innerType !== undefined) current = def.innerType;
    else if (def.type === "pipe" && def.in !== undefined) current = def.in;
    else if (index === path.length) return current;
    else if (def.type === "object") current = def.shape?.[String(path[index++])];
    else if (def.type === "array") (current = def.element, index++);
    else if (def.type === "record") (current = def.valueType, index++);
    else return undefined;
  }
  return undefined;
}

function isInteger(schema: z.ZodType | undefined): boolean {
  if (schema === undefined) return false;
  const internals = (schema as unknown as { _zod: Internals })._zod;
  const formats = [
    internals.bag.format,
    ...(internals.def.checks ?? []).map((check) => check._zod.def.format),
  ];
  return formats.some((format) => format === "safeint" || format === "int32");
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
