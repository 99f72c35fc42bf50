/**
 * Authentication: every route but the public ones needs a credential.
 *
 * - A bearer token: the agent's routes (ingest, commands, leases, dedupe)
 *   take an agent token; every other route, including ones added later, an
 *   API token. Bearer requests are not cookie-bound: no CSRF check.
 * - A session cookie ({@linkcode SESSION_COOKIE}, from `POST /login`) for
 *   the pages, the SSE streams and the REST API (not the agent routes).
 *   Every state-changing request by cookie passes {@linkcode sessionGuard}:
 *   same origin (`Sec-Fetch-Site`, `Origin`) and the session's CSRF token
 *   (`X-CSRF-Token` or the form field `_csrf`).
 *
 * Both set the same `principal` (name, role, sites): `access.ts` checks
 * the role and the sites of every request, whichever credential it came with.
 *
 * Without a credential, a page (GET outside `/api/`, `/live/`, `/static/`,
 * `/metrics`) redirects to `/login` (303); everything else answers 401.
 *
 * @module
 */

import type { IngestRequest } from "../../shared/protocol.ts";
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie } from "hono/cookie";
import { HttpError } from "../http/http_error.ts";
import { readForm } from "../http/request.ts";
import type { Clock } from "../clock.ts";
import { csrfMatches, type SessionRecord, type Sessions } from "./sessions.ts";
import type { Store } from "../store/store.ts";
import type { TokenKind, TokenRecord } from "../store/types.ts";
import type { Users } from "./users.ts";
import type { Principal, Role } from "./roles.ts";

/** A signed-in user, as the routes see them. */
export interface SessionUser {
  name: string;
  role: Role;
  /** Null: every site. */
  sites: string[] | null;
  /** The stored hash of the session (sign-out revokes it). */
  sessionHash: string;
  session: SessionRecord;
}

/** The Hono environment of the collector's app. */
export interface CollectorEnv {
  Variables: {
    /**
     * The bearer token; for a signed-in user, a stand-in API record named
     * `user:<name>` (so routes written for tokens keep working).
     */
    token: TokenRecord;
    /** The signed-in user, or null for a bearer token. */
    user: SessionUser | null;
    /** Who is asking, for logs and records: `api-token:<name>`, `agent-token:<name>`, `user:<name>`. */
    actor: string;
    /** Who asks, for the role and site checks (`access.ts`); absent for agents and public routes. */
    principal: Principal | null;
    /** The ingest the route stored, for the counters and the live page (parsed once). */
    ingest?: IngestRequest;
  };
}

/** The session cookie's name. */
export const SESSION_COOKIE = "scriptmon_session";

/** The wall screen's cookie: its wall token, set by `/wall?key=<token>` (see `web/wall_page.tsx`). */
export const WALL_COOKIE = "scriptmon_wall";

/** Routes answered without any credential. */
export const PUBLIC_ROUTES: readonly (readonly [string, string])[] = [
  ["GET", "/healthz"],
  ["GET", "/login"],
  ["POST", "/login"],
  ["GET", "/static/app.css"],
  ["GET", "/favicon.ico"],
];

/** Whether `method path` needs no credential. */
export function isPublic(method: string, path: string): boolean {
  return PUBLIC_ROUTES.some(([m, p]) => m === method && p === path);
}

/** Whether `path` is a page for people (a GET of it without a session redirects to /login). */
export function isPagePath(path: string): boolean {
  return !path.startsWith("/api/") && !path.startsWith("/live/") &&
    !path.startsWith("/static/") && path !== "/metrics" && path !== "/healthz";
}

/** Which kind of token `path` takes. */
export function tokenKindFor(path: string): TokenKind {
  return path === "/api/v1/ingest" || path === "/api/v1/commands" || path === "/api/v1/dedupe" ||
      path.startsWith("/api/v1/leases/")
    ? "agent"
    : "api";
}

/** The site a per-site path names (`/api/v1/agents/<site>/...`, `/scripts/<site>/...`), if any. */
export function siteOfPath(path: string): string | undefined {
  const match = /^\/(?:api\/v1\/agents|scripts|logs)\/([^/]+)(?:\/|$)/.exec(path);
  if (match === null) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

/**
 * The signed-in user of a request made with the session cookie.
 *
 * @throws {HttpError} 401 when it came with a bearer token instead.
 */
export function signedIn(c: Context<CollectorEnv>): SessionUser {
  const user = c.get("user");
  if (user === null || user === undefined) {
    throw new HttpError(401, `${c.req.path} needs a signed-in user (sign in at /login)`);
  }
  return user;
}

/** A stand-in token record for a signed-in user (`c.get("token")` of routes written for tokens). */
function userToken(user: SessionUser): TokenRecord {
  return {
    kind: "api",
    hash: "",
    name: `user:${user.name}`,
    site: null,
    host: null,
    createdAt: user.session.createdAt,
    lastUsedAt: user.session.lastSeenAt,
    revoked: false,
    revokedAt: null,
  };
}

/** What {@linkcode authenticate} needs. */
export interface AuthDeps {
  store: Store;
  clock: Clock;
  users: Users;
  sessions: Sessions;
  /** The sites of each environment, for principals scoped to environments. */
  environments?: { sitesIn(environments: readonly string[]): Promise<string[]> };
}

/**
 * The sites a principal may see: its own list (null: every site), narrowed to the sites of its
 * environments when it has some.
 */
async function scopedSites(
  deps: AuthDeps,
  record: { sites?: string[] | null; environments?: string[] | null },
): Promise<string[] | null> {
  const sites = record.sites ?? null;
  const environments = record.environments ?? null;
  if (environments === null) return sites;
  const inEnvironments = await deps.environments?.sitesIn(environments) ?? [];
  return sites === null ? inEnvironments : sites.filter((s) => inEnvironments.includes(s));
}

/**
 * Authenticates every request but the public routes by bearer token or
 * session cookie (see the module doc); sets `token`, `user` and `actor`.
 */
export function authenticate(deps: AuthDeps): MiddlewareHandler<CollectorEnv> {
  return async (c, next) => {
    const { method, path } = c.req;
    c.set("user", null);
    c.set("principal", null);
    if (isPublic(method, path)) {
      c.set("actor", "anonymous");
      return await next();
    }
    // The wall: a read-only wall token (from ?key= the first time, then its cookie), never a
    // session, so that a screen stays signed in for as long as the token lives.
    if (path === "/wall" && method === "GET") {
      const key = c.req.query("key") ?? getCookie(c, WALL_COOKIE);
      if (key === undefined) {
        throw new HttpError(
          401,
          "The wall needs a wall token: open /wall?key=<token> " +
            "(made with `scriptmon-collector wall-token create <name>`)",
        );
      }
      const record = /^[A-Za-z0-9_-]{1,200}$/.test(key)
        ? await deps.store.authenticate("wall", key, deps.clock.now())
        : null;
      if (record === null) {
        deleteCookie(c, WALL_COOKIE, { path: "/wall" });
        throw new HttpError(401, "Unknown or revoked wall token for /wall");
      }
      c.set("token", record);
      c.set("actor", `wall-token:${record.name}`);
      c.set("principal", {
        kind: "wall-token",
        name: record.name,
        role: "viewer",
        sites: await scopedSites(deps, record),
      });
      return await next();
    }
    const kind = tokenKindFor(path);
    const challenge = { headers: { "WWW-Authenticate": 'Bearer realm="scriptmon"' } };
    const authorization = c.req.header("authorization");
    const cookie = getCookie(c, SESSION_COOKIE);
    if (authorization === undefined && cookie !== undefined && kind === "api") {
      const user = await sessionUser(deps, cookie);
      if (user !== null) {
        c.set("user", user);
        c.set("token", userToken(user));
        c.set("actor", `user:${user.name}`);
        c.set("principal", { kind: "user", name: user.name, role: user.role, sites: user.sites });
        return await next();
      }
      if (isPagePath(path) && method === "GET") {
        deleteCookie(c, SESSION_COOKIE, { path: "/" });
        return c.redirect(loginHref(c), 303);
      }
      throw new HttpError(
        401,
        `Session expired or signed out for ${path}: sign in again at /login`,
      );
    }
    if (authorization === undefined && isPagePath(path) && method === "GET") {
      return c.redirect(loginHref(c), 303);
    }
    const match = /^Bearer +([A-Za-z0-9_-]+)\s*$/i.exec(authorization ?? "");
    if (match === null) {
      throw new HttpError(
        401,
        `Missing credential for ${method} ${path}: send "Authorization: Bearer <${kind} token>"`,
        challenge,
      );
    }
    const record = await deps.store.authenticate(kind, match[1], deps.clock.now());
    if (record === null) {
      throw new HttpError(401, `Unknown or revoked ${kind} token for ${path}`, challenge);
    }
    c.set("token", record);
    c.set("actor", `${kind}-token:${record.name}`);
    if (kind === "api") {
      // Records made before roles: admin of every site, as they were.
      c.set("principal", {
        kind: "api-token",
        name: record.name,
        role: record.role ?? "admin",
        sites: await scopedSites(deps, record),
      });
    }
    await next();
  };
}

/** `/login?next=<this page>`. */
function loginHref(c: Context): string {
  const url = new URL(c.req.url);
  const here = url.pathname + url.search;
  return here === "/" ? "/login" : `/login?next=${encodeURIComponent(here)}`;
}

async function sessionUser(deps: AuthDeps, cookie: string): Promise<SessionUser | null> {
  const now = deps.clock.now();
  const session = await deps.sessions.get(cookie, now);
  if (session === null) return null;
  const user = await deps.users.get(session.record.user);
  if (user === null) {
    await deps.sessions.revoke(session.hash);
    return null;
  }
  return {
    name: user.name,
    role: user.role,
    sites: await scopedSites(deps, user),
    sessionHash: session.hash,
    session: session.record,
  };
}

/**
 * Refuses (403) a request that another site made the browser send: a
 * `Sec-Fetch-Site` other than `same-origin`, or an `Origin` other than the
 * collector's own. Absent headers pass (older browsers, non-browser clients).
 *
 * `Origin: null` passes only together with `Sec-Fetch-Site: same-origin`:
 * under the pages' `Referrer-Policy: no-referrer` browsers send `null` as
 * the origin of their own form posts, and `Sec-Fetch-Site` (which no page
 * can set) still says where the request came from.
 */
export function checkSameOrigin(c: Context): void {
  const fetchSite = c.req.header("sec-fetch-site");
  if (fetchSite !== undefined && fetchSite !== "same-origin") {
    throw new HttpError(
      403,
      `Cross-site request refused: ${c.req.method} ${c.req.path} came with Sec-Fetch-Site "${fetchSite}"`,
    );
  }
  const origin = c.req.header("origin");
  const own = new URL(c.req.url).origin;
  if (
    origin !== undefined && origin !== own && !(origin === "null" && fetchSite === "same-origin")
  ) {
    throw new HttpError(
      403,
      `Cross-site request refused: Origin ${JSON.stringify(origin)} is not this collector (${own})`,
    );
  }
}

/**
 * For signed-in users (not bearer tokens): every request but GET/HEAD must
 * come from this origin with the session's CSRF token (roles and sites are
 * `access.ts`'s). Runs after the body limit (it may read a form's `_csrf`).
 */
export function sessionGuard(): MiddlewareHandler<CollectorEnv> {
  return async (c, next) => {
    const user = c.get("user");
    if (user === null || user === undefined) return await next();
    const { method, path } = c.req;
    if (method === "GET" || method === "HEAD") return await next();
    checkSameOrigin(c);
    let given = c.req.header("x-csrf-token");
    const type = c.req.header("content-type") ?? "";
    if (
      given === undefined &&
      (type.startsWith("application/x-www-form-urlencoded") ||
        type.startsWith("multipart/form-data"))
    ) {
      const field = (await readForm(c))["_csrf"];
      given = typeof field === "string" ? field : undefined;
    }
    if (!csrfMatches(user.session, given)) {
      throw new HttpError(
        403,
        `Missing or wrong CSRF token for ${method} ${path}: send the page's token in X-CSRF-Token (or the form field _csrf)`,
      );
    }
    await next();
  };
}
