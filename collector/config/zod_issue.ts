/**
 * Our wording for zod issues, used by the config loader and by request
 * validation: `events.3.seq: expected a positive integer, got -1`. The path
 * is dotted; the message says what was expected and the value found.
 *
 * @module
 */

import type { z } from "zod";

/** One problem: dotted path ("" for the whole input) and a message. */
export interface Problem {
  path: string;
  message: string;
}

/** A short rendering of a value for messages (at most 80 characters). */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.length === 0 ? "[]" : "an array";
  if (typeof value === "object" && value !== null) return "an object";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const NOUNS: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  object: "an object",
  record: "an object",
  array: "an array",
  null: "null",
};

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

/**
 * Turns one zod issue into problems (an unknown-keys issue gives one per
 * key). `schema` is the schema that was parsed, used to say "integer"
 * where the field is one; `prefix` is prepended to every path.
 */
export function describeIssue(
  issue: z.core.$ZodIssue,
  options: { schema?: z.ZodType; prefix?: string[] } = {},
): Problem[] {
  const parts = [...(options.prefix ?? []), ...issue.path.map(String)];
  const path = parts.join(".");
  const got = describeValue(issue.input);
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => ({
        path: [...parts, key].join("."),
        message: `unknown key ${JSON.stringify(key)}`,
      }));
    case "invalid_type":
      if (issue.input === undefined) {
        return [{
          path,
          message: `expected ${NOUNS[issue.expected] ?? issue.expected}, got nothing`,
        }];
      }
      return [{ path, message: `expected ${NOUNS[issue.expected] ?? issue.expected}, got ${got}` }];
    case "invalid_value":
      return [{
        path,
        message: `expected ${issue.values.length === 1 ? "" : "one of "}${
          issue.values.map((v) => JSON.stringify(v)).join(", ")
        }, got ${got}`,
      }];
    case "too_small":
    case "too_big": {
      const small = issue.code === "too_small";
      const bound = Number(small ? issue.minimum : issue.maximum);
      if (issue.origin === "string") {
        const what = small && bound === 1
          ? "a non-empty string"
          : `a string of ${small ? "at least" : "at most"} ${bound} characters`;
        return [{ path, message: `expected ${what}, got ${got}` }];
      }
      if (issue.origin === "array") {
        const length = Array.isArray(issue.input) ? issue.input.length : "?";
        return [{
          path,
          message: `expected ${small ? "at least" : "at most"} ${bound} items, got ${length}`,
        }];
      }
      const integer = isInteger(options.schema && schemaAt(options.schema, issue.path));
      const noun = integer ? "integer" : "number";
      if (small && bound === 0) {
        const what = issue.inclusive ? `a non-negative ${noun}` : `a positive ${noun}`;
        return [{ path, message: `expected ${what}, got ${got}` }];
      }
      const op = small ? (issue.inclusive ? ">=" : ">") : (issue.inclusive ? "<=" : "<");
      return [{
        path,
        message: `expected ${integer ? "an integer" : "a number"} ${op} ${bound}, got ${got}`,
      }];
    }
    case "invalid_format": {
      const what = issue.format === "regex" && "pattern" in issue
        ? `a string matching ${String(issue.pattern)}`
        : issue.format;
      return [{ path, message: `expected ${what}, got ${got}` }];
    }
    case "invalid_union":
      return [{ path, message: `${lowerFirst(issue.message)}, got ${got}` }];
    default: {
      const message = lowerFirst(issue.message);
      return [{ path, message: /, got /.test(message) ? message : `${message}, got ${got}` }];
    }
  }
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
