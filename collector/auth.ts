/**
 * Authentication: every route but `GET /healthz` needs a bearer token.
 * The agent's routes (ingest, commands, leases, dedupe) take an agent
 * token; every other route, including ones added later, an API token.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { HttpError } from "./http_error.ts";
import type { Clock } from "./clock.ts";
import type { Store } from "./store.ts";
import type { TokenKind, TokenRecord } from "./store_types.ts";

/** The Hono environment of the collector's app: the authenticated token. */
export interface CollectorEnv {
  Variables: { token: TokenRecord };
}

/** The only path answered without a credential. */
export const PUBLIC_PATH = "/healthz";

/** Which kind of token `path` takes. */
export function tokenKindFor(path: string): TokenKind {
  return path === "/api/v1/ingest" || path === "/api/v1/commands" || path === "/api/v1/dedupe" ||
      path.startsWith("/api/v1/leases/")
    ? "agent"
    : "api";
}

/** Refuses (401) any request but `GET /healthz` without a live token of the right kind. */
export function requireToken(
  deps: { store: Store; clock: Clock },
): MiddlewareHandler<CollectorEnv> {
  return async (c, next) => {
    if (c.req.path === PUBLIC_PATH && c.req.method === "GET") return await next();
    const kind = tokenKindFor(c.req.path);
    const challenge = { headers: { "WWW-Authenticate": 'Bearer realm="scriptmon"' } };
    const match = /^Bearer +([A-Za-z0-9_-]+)\s*$/i.exec(c.req.header("authorization") ?? "");
    if (match === null) {
      throw new HttpError(
        401,
        `Missing credential for ${c.req.method} ${c.req.path}: send "Authorization: Bearer <${kind} token>"`,
        challenge,
      );
    }
    const record = await deps.store.authenticate(kind, match[1], deps.clock.now());
    if (record === null) {
      throw new HttpError(401, `Unknown or revoked ${kind} token for ${c.req.path}`, challenge);
    }
    c.set("token", record);
    await next();
  };
}
