/**
 * A zod schema's check of a JSON body, compiled once into plain functions
 * that look at the parsed value in place. zod builds a new copy of every
 * object and array it parses and a result object for every field: for the
 * ingest route's 2 KB body, 16 µs and 37 % of the bytes the whole request
 * allocates; the compiled check takes 8 µs and allocates nothing but
 * defaults.
 *
 * It says "valid, and here is the value zod would give" or "ask zod". The
 * containers zod copies (objects, arrays, records of plain string keys) and
 * the wrappers (optional, nullable, a field's default) are walked here; a
 * leaf's type (string, number, boolean, literal, enum, null) is told as zod
 * tells it, and its checks (lengths in code points, `.int()`, a regex, a
 * `.refine()`) are zod's own check functions, called as zod calls them. Any
 * other kind of schema (a union, a pipe, a refinement of a whole object or
 * array, a record whose keys are checked, a symbol key), and anything
 * unusual in a value (a key zod would strip or drop, a check that changes
 * the value), is left to zod, whose answer and error message stand. Defaults
 * are filled in only once the whole value is known valid, so zod, when asked,
 * gets the body as sent. A value it returns is the one zod would return
 * (deep-equal), keys in the body's order where zod's copy has the schema's.
 *
 * It reads zod 4's internals (`_zod`: a schema's `def`, its checks, `optin`), which zod does not
 * promise to keep: `known_valid_test.ts` holds it to zod's own verdicts and values on thousands of
 * mutated ingests, so an upgrade that changes them fails there rather than in production.
 *
 * @module
 */

import type { z } from "zod";

/** The compiled check: the value as zod would return it, or {@linkcode ASK_ZOD}. */
export type KnownValid<T> = (value: unknown) => T | typeof ASK_ZOD;

/** What a compiled check returns when zod must decide (the value is invalid, or unusual). */
export const ASK_ZOD: unique symbol = Symbol("ask zod");

/** A node of the compiled tree: true when `value` is valid (its defaults noted in the walk). */
type Check = (value: unknown) => boolean;

/** The parts of zod's internals the compiler reads (zod 4's `_zod`). */
interface ZodInternals {
  def: {
    type: string;
    checks?: ZodCheck[];
    coerce?: boolean;
    shape?: Record<string, ZodNode>;
    catchall?: ZodNode;
    element?: ZodNode;
    keyType?: ZodNode;
    valueType?: ZodNode;
    innerType?: ZodNode;
    defaultValue?: unknown;
  };
  optin?: string;
  optout?: string;
  values?: Set<unknown>;
  traits: Set<string>;
}
interface ZodNode {
  _zod: ZodInternals;
}
interface ZodCheck {
  _zod: {
    def: { check?: string; when?: (payload: Payload) => boolean };
    check(payload: Payload): unknown;
  };
}
interface Payload {
  value: unknown;
  issues: unknown[];
}

/**
 * What one compiled check uses while it walks a value: zod's checks are synchronous, and a check
 * that fails (pushes an issue) ends the walk, so neither is ever in use twice at once.
 */
interface Walk {
  /** Handed to zod's check functions. */
  payload: Payload;
  /** Absent fields with defaults, filled in once the whole value is valid. */
  fills: { object: Record<string, unknown>; key: string; fallback: () => unknown }[];
}

/** How zod 4 tells a leaf's type (none of them coerces: see {@linkcode leaf}). */
const TYPES: Record<string, (zod: ZodInternals) => Check> = {
  string: () => (value) => typeof value === "string",
  number: () => (value) => typeof value === "number" && Number.isFinite(value),
  boolean: () => (value) => typeof value === "boolean",
  null: () => (value) => value === null,
  literal: (zod) => (value) => zod.values!.has(value),
  enum: (zod) => (value) => zod.values!.has(value),
};
const ANYTHING = new Set(["unknown", "any"]);
/** A container's checks that look at its length alone (`.max(100)`), not at what it holds. */
const LENGTH_CHECKS = new Set(["max_length", "min_length", "length_equals"]);

const compiled = new WeakMap<z.ZodType, KnownValid<unknown> | null>();

/**
 * The compiled check of `schema`, built on first use; null when the schema has a part the
 * compiler leaves to zod (a union, a transform, a pipe…): then every body goes to zod.
 */
export function knownValid<S extends z.ZodType>(schema: S): KnownValid<z.infer<S>> | null {
  let check = compiled.get(schema);
  if (check === undefined) {
    check = compile(schema as unknown as ZodNode);
    compiled.set(schema, check);
  }
  return check as KnownValid<z.infer<S>> | null;
}

function compile(schema: ZodNode): KnownValid<unknown> | null {
  const walk: Walk = { payload: { value: undefined, issues: [] }, fills: [] };
  let check: Check | null;
  try {
    check = node(schema, walk);
  } catch {
    // Internals shaped otherwise than this file knows (another zod): zod does it all.
    return null;
  }
  if (check === null) return null;
  return (value) => {
    try {
      if (!check(value)) return ASK_ZOD;
      for (const { object, key, fallback } of walk.fills) object[key] = fallback();
      return value;
    } catch {
      // An async refinement, say: zod says what is wrong with it.
      return ASK_ZOD;
    } finally {
      walk.payload.issues.length = 0;
      walk.payload.value = undefined;
      walk.fills.length = 0;
    }
  };
}

/** The check of one schema node, or null when zod must do this schema. */
function node(schema: ZodNode, walk: Walk): Check | null {
  const zod = schema._zod;
  const { type } = zod.def;
  if (Object.hasOwn(TYPES, type)) return leaf(schema, walk);
  if (ANYTHING.has(type)) return (zod.def.checks?.length ?? 0) === 0 ? () => true : null;
  switch (type) {
    case "object":
      return object(zod, walk);
    case "array":
      return array(schema, walk);
    case "record":
      return record(schema, walk);
    case "optional":
    case "nullable": {
      // A wrapper's own refinements, or a default inside (`.default(…).optional()`): zod's.
      if ((zod.def.checks?.length ?? 0) > 0 || zod.def.innerType!._zod.optin === "defaulted") {
        return null;
      }
      const inner = node(zod.def.innerType!, walk);
      const empty = type === "optional" ? undefined : null;
      return inner && ((value) => value === empty || inner(value));
    }
    default:
      // Defaults only as an object's field (filled in there); everything else is zod's.
      return null;
  }
}

/**
 * A leaf: its type as zod tells it, then zod's own check functions (a string's lengths in code
 * points, `.int()`, a regex, a `.refine()`), which must neither fail nor change the value.
 */
function leaf(schema: ZodNode, walk: Walk): Check | null {
  const zod = schema._zod;
  if (zod.def.coerce === true) return null;
  const is = TYPES[zod.def.type](zod);
  const checks = checksOf(schema);
  if (checks.length === 0) return is;
  return (value) => is(value) && passes(checks, walk.payload, value);
}

/** A schema's checks in zod's order: the schema itself first when it is one (`z.int()`). */
function checksOf(schema: ZodNode): ZodCheck[] {
  const zod = schema._zod;
  return [
    ...(zod.traits.has("$ZodCheck") ? [schema as unknown as ZodCheck] : []),
    ...zod.def.checks ?? [],
  ];
}

/** Whether `value` passes zod's `checks` (each as zod's `runChecks` would call it). */
function passes(checks: readonly ZodCheck[], payload: Payload, value: unknown): boolean {
  payload.value = value;
  for (const { _zod: check } of checks) {
    if (check.def.when !== undefined && !check.def.when(payload)) continue;
    if (check.check(payload) instanceof Promise) return false;
    if (payload.issues.length > 0 || payload.value !== value) return false;
  }
  return true;
}

/**
 * An array's or record's checks, run after its contents as zod runs them; null (zod's) for any
 * but length checks, which cannot tell the body from zod's copy with its defaults.
 */
function lengthChecks(schema: ZodNode, walk: Walk): Check | null {
  const checks = checksOf(schema);
  if (checks.some(({ _zod: check }) => !LENGTH_CHECKS.has(check.def.check ?? ""))) return null;
  return checks.length === 0 ? () => true : (value) => passes(checks, walk.payload, value);
}

interface Field {
  key: string;
  check: Check;
  /** Absent: "required", "optional" (left absent) or "default" (filled in). */
  absent: "required" | "optional" | "default";
  fallback?: () => unknown;
}

/**
 * A strict or plain object without refinements of its own: every field checked, absent ones as
 * zod would, unknown keys left to zod (an error, or stripped from zod's copy).
 */
function object(zod: ZodInternals, walk: Walk): Check | null {
  const shape = zod.def.shape ?? {};
  const catchall = zod.def.catchall?._zod.def.type;
  // "never": strict (an unknown key is an error); absent: stripped (zod's copy leaves it out).
  if (catchall !== undefined && catchall !== "never") return null;
  // A refinement of the whole object would see the body's key order, not zod's copy's.
  if ((zod.def.checks?.length ?? 0) > 0 || zod.traits.has("$ZodCheck")) return null;
  // Symbol keys, which `Object.entries` does not list but zod checks.
  if (Object.getOwnPropertySymbols(shape).length > 0) return null;
  const fields: Field[] = [];
  for (const [key, schema] of Object.entries(shape)) {
    // Keys an object has without saying so (`toString`), or that zod drops: zod's to judge.
    if (key in Object.prototype) return null;
    const field = objectField(key, schema, walk);
    if (field === null) return null;
    fields.push(field);
  }
  const byKey = new Map(fields.map((field) => [field.key, field]));
  const required = fields.filter((field) => field.absent === "required").length;
  const omittable = fields.filter((field) => field.absent !== "required");
  return (value) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
    const input = value as Record<string, unknown>;
    // One pass over the keys the value has (an unknown one is zod's), then the absent ones.
    let present = 0, requiredPresent = 0;
    for (const key in input) {
      const field = byKey.get(key);
      if (field === undefined || !field.check(input[key])) return false;
      present++;
      if (field.absent === "required") requiredPresent++;
    }
    if (requiredPresent < required) return false;
    if (present < fields.length) {
      for (const { absent, key, fallback } of omittable) {
        if (absent === "default" && !Object.hasOwn(input, key)) {
          walk.fills.push({ object: input, key, fallback: fallback! });
        }
      }
    }
    return true;
  };
}

function objectField(key: string, schema: ZodNode, walk: Walk): Field | null {
  const zod = schema._zod;
  if (zod.def.type === "default") {
    if ((zod.def.checks?.length ?? 0) > 0) return null;
    const check = node(zod.def.innerType!, walk);
    if (check === null) return null;
    // zod gives each parse its own copy of the default (`def.defaultValue` is a getter).
    return { key, check, absent: "default", fallback: () => zod.def.defaultValue };
  }
  const check = node(schema, walk);
  if (check === null) return null;
  if (zod.optin === undefined) return { key, check, absent: "required" };
  // Absent and optional both ways: zod leaves the key out too. Any other mix is zod's.
  if (zod.optin === "optional" && zod.optout === "optional" && zod.def.type === "optional") {
    return { key, check, absent: "optional" };
  }
  return null;
}

function array(schema: ZodNode, walk: Walk): Check | null {
  const element = node(schema._zod.def.element!, walk);
  if (element === null) return null;
  const checks = lengthChecks(schema, walk);
  if (checks === null) return null;
  return (value) => {
    if (!Array.isArray(value)) return false;
    for (let i = 0; i < value.length; i++) if (!element(value[i])) return false;
    return checks(value);
  };
}

/** A record whose keys are any string (a plain `z.string()`): every value checked. */
function record(schema: ZodNode, walk: Walk): Check | null {
  const zod = schema._zod;
  const keyType = zod.def.keyType!._zod;
  // A key schema that checks its keys (`z.email()` is a check itself), or is no string: zod's.
  const anyString = keyType.def.type === "string" && keyType.def.coerce !== true &&
    (keyType.def.checks?.length ?? 0) === 0 && !keyType.traits.has("$ZodCheck");
  if (!anyString) return null;
  const valueCheck = node(zod.def.valueType!, walk);
  if (valueCheck === null) return null;
  const checks = lengthChecks(schema, walk);
  if (checks === null) return null;
  return (value) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
    // zod takes plain objects alone; JSON's always are (this guards other callers).
    if (Object.getPrototypeOf(value) !== Object.prototype) return false;
    const input = value as Record<string, unknown>;
    for (const key in input) {
      // zod leaves `__proto__` out of its copy: that body is zod's.
      if (key === "__proto__" || !valueCheck(input[key])) return false;
    }
    return checks(value);
  };
}
