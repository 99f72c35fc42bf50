/**
 * The access part of the OpenAPI document: the session cookie as a second
 * way to call the API, and each operation's role and site rule, read from
 * `access.ts`'s table (so the document cannot drift from what is enforced).
 *
 * @module
 */

import { requiredAccess } from "../auth/access.ts";
import { SESSION_COOKIE } from "../auth/authenticate.ts";
import type { Json } from "./_openapi_parts.ts";

/** The security schemes beside the bearer tokens. */
export const sessionScheme: Json = {
  sessionCookie: {
    type: "apiKey",
    in: "cookie",
    name: SESSION_COOKIE,
    description:
      "The session of a user signed in at POST /login (scriptmon-collector user add). A state-changing request by cookie must also send the page's CSRF token in X-CSRF-Token and come from the collector's own origin.",
  },
};

/** What the document's description says about access. */
export const ACCESS_NOTE =
  "Roles: viewer reads; operator also controls scripts and acknowledges and silences alerts; admin may do everything (runtime routes, the audit trail). Users and API tokens have a role and all sites or a list of sites; a path or ?site= naming another site answers 403, listings leave other sites out. An API token made before roles is an admin of every site.";

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

/**
 * `paths` with, on every operation an API token may call, the session
 * cookie as an alternative and a note of the role it needs.
 */
export function withAccess(paths: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [path, item] of Object.entries(paths)) {
    const copy: Json = { ...(item as Record<string, Json>) };
    for (const method of METHODS) {
      const op = copy[method] as Record<string, Json> | undefined;
      const security = op?.security as { apiToken?: unknown }[] | undefined;
      if (op === undefined || !security?.some((s) => "apiToken" in s)) continue;
      // A template like {site} stands for one path segment.
      const sample = path.replaceAll(/\{[^}]+\}/g, "x");
      const needed = requiredAccess(method.toUpperCase(), sample);
      const scoped = needed.allSites
        ? " Needs a principal of every site (403 for one of some sites)."
        : /\{site\}/.test(path)
        ? " 403 when {site} is not one of the caller's sites."
        : "";
      copy[method] = {
        ...op,
        security: [...security, { sessionCookie: [] }],
        description: `${
          op.description === undefined ? "" : `${op.description} `
        }Role: ${needed.role}.${scoped}`,
      };
    }
    out[path] = copy;
  }
  return out;
}
