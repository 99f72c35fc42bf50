/**
 * Every state-changing request people and programs make (not the agents'
 * own routes) goes on the audit trail once it is answered: sign-ins and
 * their failures, commands, acknowledgements, silences, routes, sign-outs,
 * and any route added later (under a generic `http.<METHOD> <route>` name
 * until it gets one here). Who is the authenticated actor (the form's user
 * name for a sign-in), from where is the remote address, the result is
 * the answer's status: 2xx and 3xx `ok`, 4xx `refused`, 5xx `failed`.
 * Requests without any credential (but sign-ins) and to no route are not
 * recorded: they are nobody's actions, and the HTTP log has them.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { getLogger } from "@logtape/logtape";
import type { AuditLog, AuditResult } from "./trail.ts";
import { type CollectorEnv, tokenKindFor } from "../auth/authenticate.ts";

const log = getLogger(["scriptmon", "collector", "audit"]);

const CHANGES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** How a route is named on the trail: its action, and what it acted on. */
interface Naming {
  method: string;
  route: string;
  action: (params: Record<string, string>) => string;
  target: (params: Record<string, string>, created: Record<string, unknown> | null) => string;
}

const NAMES: readonly Naming[] = [
  {
    method: "POST",
    route: "/api/v1/agents/:site/:host/scripts/:name/:action",
    action: (p) => `command.${p.action}`,
    target: (p) => `${p.site}/${p.host}/${p.name}`,
  },
  {
    method: "POST",
    route: "/api/v1/alerts/:id/ack",
    action: () => "alert.ack",
    target: (p) => p.id,
  },
  {
    method: "POST",
    route: "/api/v1/silences",
    action: () => "silence.add",
    target: (_, created) => String(pick(created, "silence", "id") ?? ""),
  },
  {
    method: "DELETE",
    route: "/api/v1/silences/:id",
    action: () => "silence.remove",
    target: (p) => p.id,
  },
  {
    method: "POST",
    route: "/api/v1/routes",
    action: () => "route.add",
    target: (_, created) => String(pick(created, "route", "id") ?? ""),
  },
  {
    method: "DELETE",
    route: "/api/v1/routes/:id",
    action: () => "route.remove",
    target: (p) => p.id,
  },
  {
    method: "PUT",
    route: "/api/v1/config/documents/:scope",
    action: () => "config.edit",
    target: (p, created) => versionTarget(p.scope, created),
  },
  {
    method: "DELETE",
    route: "/api/v1/config/documents/:scope",
    action: () => "config.delete",
    target: (p, created) => versionTarget(p.scope, created),
  },
  {
    method: "POST",
    route: "/api/v1/config/rollback",
    action: () => "config.rollback",
    target: (_, created) => versionTarget("", created),
  },
  {
    method: "POST",
    route: "/api/v1/config/versions/:n/rollout",
    action: () => "config.rollout",
    target: (p) => `v${p.n}`,
  },
  {
    method: "PUT",
    route: "/api/v1/config/webhooks/:scope/:name",
    action: () => "config.webhook",
    target: (p, created) => versionTarget(`${p.scope} ${p.name}`, created),
  },
  {
    method: "POST",
    route: "/api/v1/config/webhooks/:scope/:name/test",
    action: () => "config.webhook.test",
    target: (p) => `${p.scope} ${p.name}`,
  },
  { method: "POST", route: "/api/v1/config/check", action: () => "config.check", target: () => "" },
  { method: "POST", route: "/logout", action: () => "signout", target: () => "" },
];

/** `site:FC1 v12`: the document and the version a config change made (when it made one). */
function versionTarget(scope: string, created: Record<string, unknown> | null): string {
  const version = pick(created, "version", "version");
  return [scope, version === undefined ? "" : `v${version}`].filter((s) => s !== "").join(" ");
}

function pick(body: Record<string, unknown> | null, outer: string, inner: string): unknown {
  const value = body?.[outer];
  return typeof value === "object" && value !== null ? Reflect.get(value, inner) : undefined;
}

/** The values of `pattern`'s `:params` in `path`. */
export function routeParams(pattern: string, path: string): Record<string, string> {
  const names = pattern.split("/");
  const values = path.split("/");
  const out: Record<string, string> = {};
  names.forEach((name, i) => {
    if (name.startsWith(":") && values[i] !== undefined) {
      // A malformed %-escape (`/alerts/%/ack`) is named as it came, not a 500.
      try {
        out[name.slice(1)] = decodeURIComponent(values[i]);
      } catch {
        out[name.slice(1)] = values[i];
      }
    }
  });
  return out;
}

function resultOf(status: number): AuditResult {
  return status < 400 ? "ok" : status < 500 ? "refused" : "failed";
}

/** The client's address, when the server knows it. */
export function remoteAddress(c: Context): string | null {
  const info = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return info?.remoteAddr?.hostname ?? null;
}

async function createdBody(c: Context): Promise<Record<string, unknown> | null> {
  if (c.res.status !== 201) return null;
  try {
    return await c.res.clone().json();
  } catch {
    return null;
  }
}

/**
 * At most this many failed sign-ins of one address go on the trail per hour: an address that
 * keeps guessing adds 480 entries a day, not one per attempt (the trail is kept for years).
 */
export const MAX_FAILED_SIGNINS_PER_HOUR = 20;

/**
 * Counts per key and window, a window running `windowMs` from a key's first count (at most
 * 10,000 keys are tracked; the longest unseen goes first).
 */
class WindowBudget {
  #counts = new Map<string, { since: number; count: number; skipped: number }>();
  constructor(readonly max: number, readonly windowMs: number, readonly now: () => number) {}

  /**
   * Whether one more is allowed for `key` this window (and counts it); an allowed one also
   * says how many were skipped since the last allowed one. `firstSkip` is true on the first
   * refusal of a window (so that it is logged once, not per attempt).
   */
  take(key: string): { allowed: boolean; skipped: number; firstSkip: boolean } {
    const now = this.now();
    const seen = this.#counts.get(key);
    if (seen === undefined || now - seen.since >= this.windowMs) {
      // A Map keeps insertion order: a key seen again moves last.
      this.#counts.delete(key);
      if (this.#counts.size >= 10_000) this.#counts.delete(this.#counts.keys().next().value!);
      this.#counts.set(key, { since: now, count: 1, skipped: 0 });
      return { allowed: true, skipped: seen?.skipped ?? 0, firstSkip: false };
    }
    if (++seen.count > this.max) {
      seen.skipped++;
      return { allowed: false, skipped: 0, firstSkip: seen.count === this.max + 1 };
    }
    return { allowed: true, skipped: 0, firstSkip: false };
  }
}

/** Records each state-changing request on `audit` once answered; see the module doc. */
export function auditRequests(
  audit: AuditLog,
  options: { now?: () => number } = {},
): MiddlewareHandler<CollectorEnv> {
  const signInFailures = new WindowBudget(
    MAX_FAILED_SIGNINS_PER_HOUR,
    3_600_000,
    options.now ?? Date.now,
  );
  return async (c, next) => {
    await next();
    if (!CHANGES.has(c.req.method) || tokenKindFor(c.req.path) === "agent") return;
    const route = routePath(c, -1);
    const isSignIn = c.req.method === "POST" && route === "/login";
    // Requests without a credential, or to no route, are not anybody's actions (sign-ins are).
    if (!isSignIn && (c.get("actor") === undefined || c.get("actor") === "anonymous")) return;
    if (route === "*" || route === "/*") return;
    const naming = NAMES.find((n) => n.method === c.req.method && n.route === route);
    const params = routeParams(route, c.req.path);
    let actor = c.get("actor") ?? "anonymous";
    let action = naming?.action(params) ?? `http.${c.req.method} ${route}`;
    let target = naming?.target(params, await createdBody(c)) ?? c.req.path;
    const budget = isSignIn && c.res.status >= 400
      ? signInFailures.take(remoteAddress(c) ?? "")
      : { allowed: true, skipped: 0, firstSkip: false };
    if (!budget.allowed) {
      // A flood of failed sign-ins from one address: the first ones per hour tell the story.
      if (budget.firstSkip) {
        log.warn(
          "Failed sign-ins from {address} past {max} this hour are counted, not audited one by one",
          { address: remoteAddress(c), max: MAX_FAILED_SIGNINS_PER_HOUR },
        );
      }
      return;
    }
    if (isSignIn) {
      // The form was read by the route; Hono hands back its cached body.
      const form = await c.req.parseBody().catch(() => ({} as Record<string, unknown>));
      const name = typeof form.username === "string" ? form.username.slice(0, 100) : "";
      actor = `user:${name}`;
      action = c.res.status < 400 ? "signin" : "signin.failed";
      target = name;
    }
    try {
      await audit.append({
        actor,
        address: remoteAddress(c),
        action,
        target,
        result: resultOf(c.res.status),
        // Failed sign-ins of that address left off the trail since its last entry, counted.
        detail: budget.skipped > 0
          ? { status: c.res.status, notAuditedBefore: budget.skipped }
          : { status: c.res.status },
      });
    } catch (error) {
      log.error("Cannot record {action} on the audit trail: {error}", { action, error });
    }
  };
}
