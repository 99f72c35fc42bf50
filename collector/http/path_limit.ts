/**
 * A bound on each path segment of a request, checked before anything
 * reads it: sites, hosts, scripts and ids are at most a few hundred
 * characters, and a longer one would not even fit in a KV key (2 KiB, so
 * `kv.get(["alert", id])` throws "Key too large" and the request a 500).
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { HttpError } from "./http_error.ts";

/** The longest path segment (as sent, %-escapes included) that can name anything. */
export const MAX_SEGMENT_CHARS = 512;

/** Refuses (404) a request whose path has a segment longer than {@linkcode MAX_SEGMENT_CHARS}. */
export function pathLimit(): MiddlewareHandler {
  return async (c, next) => {
    // No segment of a URL this short can be too long: most requests end the check here.
    if (c.req.url.length <= MAX_SEGMENT_CHARS) return await next();
    const path = new URL(c.req.url).pathname;
    const longest = Math.max(...path.split("/").map((segment) => segment.length));
    if (longest > MAX_SEGMENT_CHARS) {
      throw new HttpError(
        404,
        `No such route: a path segment of ${longest} characters (at most ${MAX_SEGMENT_CHARS} name anything here)`,
      );
    }
    await next();
  };
}
