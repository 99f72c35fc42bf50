/**
 * A zod schema's check of a JSON body, compiled once into plain functions
 * that look at the parsed value in place. zod builds a new copy of every
 * object and array it parses and a result object for every field: for the
 * ingest route's 2 KB body, 16 µs and 37 % of the bytes the whole request
 * allocates; the compiled check takes 8 µs and allocates nothing but
 * defaults.
 *
 * It says "valid, and here is the value zod would give" or "ask zod". The
 * containers zod copies (objects, arrays, records) and the wrappers
 * (optional, nullable, a field's default) are walked here; a leaf's type
 * (string, number, boolean, literal, enum, null) is told as zod tells it,
 * and its checks (lengths in code points, `.int()`, a regex, a `.refine()`)
 * are zod's own check functions, called as zod calls them. Any other kind
 * of schema, and anything unusual in a value (a key zod would strip or drop,
 * a check that changes the value), is left to zod, whose answer and error
 * message stand. So a body is accepted exactly when zod accepts it, and the
 * value is the one zod returns: the parsed JSON with zod's defaults filled in.
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

/** A node of the compiled tree: true when `value` is valid (defaults filled in place). */
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
    def: { when?: (payload: Payload) => boolean };
    check(payload: Payload): unknown;
  };
}
interface Payload {
  value: unknown;
  issues: unknown[];
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
  // One payload for every leaf of this schema: zod's checks are synchronous, and a check that
  // fails (pushes an issue) ends the walk, so the payload is never in use twice at once.
  const payload: Payload = { value: undefined, issues: [] };
  let check: Check | null;
  try {
    check = node(schema, payload);
  } catch {
    // Internals shaped otherwise than this file knows (another zod): zod does it all.
    return null;
  }
  if (check === null) return null;
  return (value) => {
    try {
      return check(value) ? value : ASK_ZOD;
    } catch {
      // An async refinement, say: zod says what is wrong with it.
      return ASK_ZOD;
    } finally {
      payload.issues.length = 0;
      payload.value = undefined;
    }
  };
}

/** The check of one schema node, or null when zod must do this schema. */
function node(schema: ZodNode, payload: Payload): Check | null {
  const zod = schema._zod;
  const { type } = zod.def;
  if (Object.hasOwn(TYPES, type)) return leaf(schema, payload);
  if (ANYTHING.has(type)) return (zod.def.checks?.length ?? 0) === 0 ? () => true : null;
  switch (type) {
    case "object":
      return object(zod, payload);
    case "array":
      return array(zod, payload);
    case "record":
      return record(zod, payload);
    case "optional":
    case "nullable": {
      // A wrapper's own refinements, or a default inside (`.default(…).optional()`): zod's.
      if ((zod.def.checks?.length ?? 0) > 0 || zod.def.innerType!._zod.optin === "defaulted") {
        return null;
      }
      const inner = node(zod.def.innerType!, payload);
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
function leaf(schema: ZodNode, payload: Payload): Check | null {
  const zod = schema._zod;
  if (zod.def.coerce === true) return null;
  const is = TYPES[zod.def.type](zod);
  // zod runs a schema that is itself a check (`z.int()`) before the checks added to it.
  const checks = [
    ...(zod.traits.has("$ZodCheck") ? [schema as unknown as ZodCheck] : []),
    ...zod.def.checks ?? [],
  ];
  if (checks.length === 0) return is;
  return (value) => is(value) && passes(checks, payload, value);
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

/** The checks zod runs on a container after its contents (`.max(100)` on an array, say). */
function containerChecks(zod: ZodInternals, payload: Payload): Check {
  const checks = zod.def.checks ?? [];
  return checks.length === 0 ? () => true : (value) => passes(checks, payload, value);
}

interface Field {
  key: string;
  check: Check;
  /** Absent: "required", "optional" (left absent) or "default" (filled in). */
  absent: "required" | "optional" | "default";
  fallback?: () => unknown;
}

/** An object: every field checked, absent ones as zod would, unknown keys left to zod. */
function object(zod: ZodInternals, payload: Payload): Check | null {
  const shape = zod.def.shape ?? {};
  const catchall = zod.def.catchall?._zod.def.type;
  // "never": strict (an unknown key is an error); absent: stripped (zod's copy leaves it out).
  if (catchall !== undefined && catchall !== "never") return null;
  const fields: Field[] = [];
  for (const [key, schema] of Object.entries(shape)) {
    // Keys an object has without saying so (`toString`), or that zod drops: zod's to judge.
    if (key in Object.prototype) return null;
    const field = objectField(key, schema, payload);
    if (field === null) return null;
    fields.push(field);
  }
  const byKey = new Map(fields.map((field) => [field.key, field]));
  const required = fields.filter((field) => field.absent === "required").length;
  const missing = fields.filter((field) => field.absent !== "required");
  const checks = containerChecks(zod, payload);
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
      for (const field of missing) {
        if (field.absent === "default" && !Object.hasOwn(input, field.key)) {
          input[field.key] = field.fallback!();
        }
      }
    }
    return checks(value);
  };
}

function objectField(key: string, schema: ZodNode, payload: Payload): Field | null {
  const zod = schema._zod;
  if (zod.def.type === "default") {
    if ((zod.def.checks?.length ?? 0) > 0) return null;
    const check = node(zod.def.innerType!, payload);
    if (check === null) return null;
    // zod gives each parse its own copy of the default (`def.defaultValue` is a getter).
    return { key, check, absent: "default", fallback: () => zod.def.defaultValue };
  }
  const check = node(schema, payload);
  if (check === null) return null;
  if (zod.optin === undefined) return { key, check, absent: "required" };
  // Absent and optional both ways: zod leaves the key out too. Any other mix is zod's.
  if (zod.optin === "optional" && zod.optout === "optional" && zod.def.type === "optional") {
    return { key, check, absent: "optional" };
  }
  return null;
}

function array(zod: ZodInternals, payload: Payload): Check | null {
  const element = node(zod.def.element!, payload);
  const checks = containerChecks(zod, payload);
  if (element === null) return null;
  return (value) => {
    if (!Array.isArray(value)) return false;
    for (let i = 0; i < value.length; i++) if (!element(value[i])) return false;
    return checks(value);
  };
}

/** A record of string keys (no enum of keys): every value checked; `__proto__` is zod's. */
function record(zod: ZodInternals, payload: Payload): Check | null {
  const keyType = zod.def.keyType!._zod;
  if (keyType.def.type !== "string" || (keyType.def.checks?.length ?? 0) > 0) return null;
  const valueCheck = node(zod.def.valueType!, payload);
  const checks = containerChecks(zod, payload);
  if (valueCheck === null) return null;
  return (value) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
    if (Object.getPrototypeOf(value) !== Object.prototype) return false;
    const input = value as Record<string, unknown>;
    for (const key in input) {
      if (key === "__proto__" || !valueCheck(input[key])) return false;
    }
    return checks(value);
  };
}
