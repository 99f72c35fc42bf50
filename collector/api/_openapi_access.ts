/**
 * The access part of the OpenAPI document: the credentials each kind of
 * caller uses, the session cookie as a second way to call the API, and each
 * operation's role and site rule, read from `access.ts`'s table (so the
 * document cannot drift from what is enforced).
 *
 * @module
 */

import { requiredAccess } from "../auth/access.ts";
import { SESSION_COOKIE } from "../auth/authenticate.ts";
import type { ApiRoute, Json } from "./_openapi_parts.ts";

/** The security schemes: the two bearer tokens and the session cookie. */
export const SECURITY_SCHEMES: Json = {
  agentToken: {
    type: "http",
    scheme: "bearer",
    description: "scriptmon-collector agent-token create",
  },
  apiToken: {
    type: "http",
    scheme: "bearer",
    description:
      "scriptmon-collector api-token create [--role viewer|operator|admin] [--sites A,B]",
  },
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

/** `{ description }`, or nothing when there is none. */
const describe = (description: string | undefined) =>
  description === undefined ? {} : { description };

/**
 * The `security` and `description` of `route`'s operation: for a user's
 * route, an API token or the session cookie, and a note of the role it
 * needs and of its site rule.
 */
export function operationAccess(route: ApiRoute): { security: Json[]; description?: string } {
  if (route.caller === "anyone") {
    return { security: [], ...describe(route.description) };
  }
  if (route.caller === "agent") {
    return { security: [{ agentToken: [] }], ...describe(route.description) };
  }
  // A parameter like :site stands for one path segment.
  const needed = requiredAccess(route.method, route.path.replaceAll(/:[^/]+/g, "x"));
  const scoped = needed.allSites
    ? " Needs a principal of every site (403 for one of some sites)."
    : /\/:site(\/|$)/.test(route.path)
    ? " 403 when {site} is not one of the caller's sites."
    : "";
  return {
    security: [{ apiToken: [] }, { sessionCookie: [] }],
    description: `${
      route.description === undefined ? "" : `${route.description} `
    }Role: ${needed.role}.${scoped}`,
  };
}
