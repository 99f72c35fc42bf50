/**
 * Access: one principal for a signed-in user and an API token alike
 * (`Principal` of `roles.ts`: a name, a role, the sites it may see), one
 * table of the role each route needs ({@linkcode ACCESS_RULES}), and the
 * site checks every route uses.
 *
 * - Roles: `viewer` reads; `operator` also controls scripts and
 *   acknowledges and silences alerts; `admin` may do everything (runtime
 *   routes, the audit trail). A route not in the table needs `viewer` to
 *   read (GET, HEAD) and `admin` to change anything, so a new route is
 *   closed until it has a rule.
 * - Sites: a principal scoped to some sites sees nothing of another. A
 *   path or `?site=` naming another site is refused with 403 (the same
 *   answer whether or not that site exists); listings leave other sites
 *   out. Fleet-wide things (the audit trail, `/metrics`, runtime routes)
 *   need a principal of every site.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { type CollectorEnv, siteOfPath, tokenKindFor } from "./authenticate.ts";
import { HttpError } from "../http/http_error.ts";
import { queryText } from "../http/request.ts";
import { type Principal, type Role, roleAllows } from "./roles.ts";

/** What a route needs: a role, and whether a principal of some sites is refused. */
export interface AccessRule {
  method: string;
  path: RegExp;
  role: Role;
  /** Fleet-wide: refused to a principal scoped to some sites. */
  allSites?: boolean;
}

const SCRIPT_ACTION = /^\/api\/v1\/agents\/[^/]+\/[^/]+\/scripts\/[^/]+\/[^/]+$/;

/** The routes that need more (or less) than the default; see the module doc. */
export const ACCESS_RULES: readonly AccessRule[] = [
  { method: "POST", path: /^\/logout$/, role: "viewer" },
  { method: "POST", path: SCRIPT_ACTION, role: "operator" },
  { method: "POST", path: /^\/api\/v1\/alerts\/[^/]+\/ack$/, role: "operator" },
  { method: "POST", path: /^\/api\/v1\/silences$/, role: "operator" },
  { method: "DELETE", path: /^\/api\/v1\/silences\/[^/]+$/, role: "operator" },
  { method: "GET", path: /^\/api\/v1\/routes$/, role: "admin", allSites: true },
  { method: "POST", path: /^\/api\/v1\/routes$/, role: "admin", allSites: true },
  { method: "DELETE", path: /^\/api\/v1\/routes\/[^/]+$/, role: "admin", allSites: true },
  { method: "GET", path: /^\/api\/v1\/audit$/, role: "admin", allSites: true },
  { method: "GET", path: /^\/api\/v1\/config(\/.*)?$/, role: "admin", allSites: true },
  { method: "PUT", path: /^\/api\/v1\/config\/.*$/, role: "admin", allSites: true },
  { method: "POST", path: /^\/api\/v1\/config\/.*$/, role: "admin", allSites: true },
  { method: "DELETE", path: /^\/api\/v1\/config\/.*$/, role: "admin", allSites: true },
  { method: "GET", path: /^\/api\/v1\/export\/config_changes$/, role: "admin", allSites: true },
  { method: "GET", path: /^\/api\/v1\/export\/[^/]+$/, role: "viewer" },
  { method: "GET", path: /^\/audit$/, role: "admin", allSites: true },
  { method: "GET", path: /^\/config$/, role: "admin", allSites: true },
  { method: "GET", path: /^\/metrics$/, role: "viewer", allSites: true },
];

/** What `method path` needs. */
export function requiredAccess(method: string, path: string): { role: Role; allSites: boolean } {
  const verb = method === "HEAD" ? "GET" : method;
  const rule = ACCESS_RULES.find((r) => r.method === verb && r.path.test(path));
  if (rule !== undefined) return { role: rule.role, allSites: rule.allSites ?? false };
  return { role: verb === "GET" ? "viewer" : "admin", allSites: false };
}

/** `User "ann"` or `API token "ops"`, for messages. */
export function describe(principal: Principal): string {
  const what = { user: "User", "api-token": "API token", "wall-token": "Wall token" };
  return `${what[principal.kind]} "${principal.name}"`;
}

/** The principal of a request (set by the auth for users and API tokens). */
export function principalOf(c: Context<CollectorEnv>): Principal {
  const principal = c.get("principal");
  if (principal === undefined || principal === null) {
    throw new HttpError(401, `${c.req.path} needs a signed-in user or an API token`);
  }
  return principal;
}

/** Whether `principal` may see `site`. */
export function canSee(principal: { sites: string[] | null }, site: string): boolean {
  return principal.sites === null || principal.sites.includes(site);
}

/**
 * Refuses (403) a site the request's principal may not see.
 *
 * @throws {HttpError} 403 naming the principal and the site.
 */
export function checkSite(c: Context<CollectorEnv>, site: string): void {
  const principal = principalOf(c);
  if (!canSee(principal, site)) {
    throw new HttpError(403, `${describe(principal)} may not see site "${site}"`);
  }
}

/** The sites the request's principal may see; null: every site. */
export function allowedSites(c: Context<CollectorEnv>): string[] | null {
  return principalOf(c).sites;
}

/**
 * The site filter of a listing: `?site=` (checked: 403 for a site not
 * the principal's), else the principal's sites (`sites`, absent for all).
 */
export function siteScope(c: Context<CollectorEnv>): { site?: string; sites?: string[] } {
  const site = queryText(c, "site");
  if (site !== undefined) {
    checkSite(c, site);
    return { site };
  }
  const sites = allowedSites(c);
  return sites === null ? {} : { sites };
}

/** Whether `site` passes {@linkcode siteScope}'s filter. */
export function inScope(
  scope: { site?: string; sites?: readonly string[] },
  site: string,
): boolean {
  return (scope.site === undefined || scope.site === site) &&
    (scope.sites === undefined || scope.sites.includes(site));
}

/**
 * For users and API tokens alike (not agents, not the public routes): the
 * role a route needs ({@linkcode requiredAccess}), its fleet-wide rule, and
 * the site a per-site path names. Runs after the auth and the session guard.
 */
export function accessGuard(): MiddlewareHandler<CollectorEnv> {
  return async (c, next) => {
    const principal = c.get("principal");
    const { method, path } = c.req;
    if (principal === undefined || principal === null || tokenKindFor(path) === "agent") {
      return await next();
    }
    const site = siteOfPath(path);
    if (site !== undefined) checkSite(c, site);
    const needed = requiredAccess(method, path);
    if (!roleAllows(principal.role, needed.role)) {
      throw new HttpError(
        403,
        `${
          describe(principal)
        } (${principal.role}) may not ${method} ${path}: that needs the ${needed.role} role`,
      );
    }
    if (needed.allSites && principal.sites !== null) {
      throw new HttpError(
        403,
        `${describe(principal)} may see only sites ${principal.sites.join(", ")}: ` +
          `${method} ${path} covers every site`,
      );
    }
    await next();
  };
}
