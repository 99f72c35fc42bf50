/**
 * Reading requests: JSON bodies validated by a zod schema (compiled once where it can be:
 * `known_valid.ts`), and query parameters, each refused with a 400 that names the field and its
 * value.
 *
 * @module
 */

import type { Context } from "hono";
import type { z } from "zod";
import { HttpError } from "./http_error.ts";
import { describeIssue } from "../../shared/config/zod_issue.ts";
import { ASK_ZOD, knownValid } from "./known_valid.ts";

/**
 * The request body parsed as JSON and validated by `schema`.
 *
 * @throws {HttpError} 400 naming the first bad field (`events.3.seq: expected ...`).
 */
export async function readBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const text = await c.req.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new HttpError(400, `body: expected JSON, got text that does not parse (${reason})`, {
      cause: error,
    });
  }
  const known = knownValid(schema)?.(json) ?? ASK_ZOD;
  if (known !== ASK_ZOD) return known;
  const result = schema.safeParse(json, { reportInput: true });
  if (result.success) return result.data;
  const [first] = describeIssue(result.error.issues[0], { schema });
  throw new HttpError(400, `${first.path === "" ? "body" : first.path}: ${first.message}`);
}

/** A form body as Hono parses it. */
export type FormBody = Awaited<ReturnType<Context["req"]["parseBody"]>>;

/**
 * The request body parsed as a form (urlencoded or multipart).
 *
 * @throws {HttpError} 400 when it does not parse (a multipart type without its boundary, say).
 */
export async function readForm(c: Context): Promise<FormBody> {
  try {
    return await c.req.parseBody();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new HttpError(400, `body: expected a form, got one that does not parse (${reason})`, {
      cause: error,
    });
  }
}

/** A query parameter as an integer in `[min, max]`, or `fallback` when absent. */
export function queryInt(
  c: Context,
  name: string,
  options: { min: number; max: number; fallback: number },
): number {
  const text = c.req.query(name);
  if (text === undefined || text === "") return options.fallback;
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || value < options.min || value > options.max) {
    throw new HttpError(
      400,
      `${name}: expected an integer from ${options.min} to ${options.max}, got ${
        JSON.stringify(text)
      }`,
    );
  }
  return value;
}

/** A query parameter as an ISO time in ms, or undefined when absent. */
export function queryTime(c: Context, name: string): number | undefined {
  const text = c.req.query(name);
  if (text === undefined || text === "") return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) {
    throw new HttpError(
      400,
      `${name}: expected an ISO time like "2026-05-01T12:00:00Z", got ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

/** A query parameter that must be one of `allowed`, or `fallback` when absent. */
export function queryEnum<T extends string>(
  c: Context,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const text = c.req.query(name);
  if (text === undefined || text === "") return fallback;
  if (!(allowed as readonly string[]).includes(text)) {
    throw new HttpError(
      400,
      `${name}: expected one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${
        JSON.stringify(text)
      }`,
    );
  }
  return text as T;
}

/** Query values longer than this (UTF-8 bytes) name nothing: no site, host or filter is that long. */
export const MAX_QUERY_BYTES = 512;

/**
 * A query parameter as text, or undefined when absent or empty.
 *
 * @throws {HttpError} 400 when it is longer than {@linkcode MAX_QUERY_BYTES} (it could not
 *   even be part of a KV key: a listing by such a `site` failed with "Key too large").
 */
export function queryText(c: Context, name: string): string | undefined {
  const text = c.req.query(name);
  if (text === undefined || text === "") return undefined;
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_QUERY_BYTES) {
    throw new HttpError(400, `${name}: expected at most ${MAX_QUERY_BYTES} bytes, got ${bytes}`);
  }
  return text;
}

/**
 * A KV list cursor handed back by an earlier page (base64url), or undefined when absent.
 *
 * @throws {HttpError} 400 for anything else (KV throws on a non-Latin-1 or an overlong one).
 */
export function queryCursor(c: Context, name = "cursor"): string | undefined {
  const text = c.req.query(name);
  if (text === undefined || text === "") return undefined;
  if (!/^[A-Za-z0-9_=-]{1,1000}$/.test(text)) {
    throw new HttpError(
      400,
      `${name}: expected a cursor from a previous page, got ${JSON.stringify(text.slice(0, 100))}`,
    );
  }
  return text;
}
