/**
 * The route table's entries for `config_routes.ts` (central config: documents, versions,
 * rollouts, webhooks, what each agent runs); see `openapi_routes.ts`. For admins of every site.
 *
 * @module
 */

import { anyObject } from "./_openapi_answers.ts";
import type { ApiRoute } from "./_openapi_parts.ts";
import { query } from "./_openapi_parts.ts";
import {
  changeSchema,
  checkSchema,
  removeSchema,
  rollbackSchema,
  rolloutSchema,
  webhookSchema,
} from "./config_routes.ts";

const SCOPE = {
  type: "string",
  description:
    '"fleet", "env:<environment>", "site:<site>" or "agent:<site>/<host>" (the / as %2F)',
};
const VERSION = { type: "integer", minimum: 1 };
const CHANGE_ERRORS = [400, 401, 403, 409, 413, 422];

/** The central config routes. */
export const CONFIG_ROUTES: readonly ApiRoute[] = [
  {
    method: "GET",
    path: "/api/v1/config",
    summary: "The latest version, every document (secrets sealed) and the 20 newest versions",
    caller: "user",
    ok: { json: anyObject },
    errors: [401, 403],
  },
  {
    method: "GET",
    path: "/api/v1/config/versions",
    summary: "Versions, newest first: who, when, why, what, rolled out to whom",
    caller: "user",
    query: [query("limit", "At most this many (default 100)", { type: "integer" })],
    ok: { json: anyObject },
    errors: [400, 401, 403],
  },
  {
    method: "GET",
    path: "/api/v1/config/versions/:n",
    summary: "One version and its diff against the one before",
    caller: "user",
    pathParams: { n: VERSION },
    ok: { json: anyObject },
    errors: [401, 403, 404],
  },
  {
    method: "GET",
    path: "/api/v1/config/diff",
    summary: "The unified diff between two versions (default the latest and the one before)",
    caller: "user",
    query: [
      query("from", "A version (0: none)", { type: "integer" }),
      query("to", "A version", { type: "integer" }),
    ],
    ok: { json: anyObject },
    errors: [400, 401, 403],
  },
  {
    method: "GET",
    path: "/api/v1/config/documents/:scope",
    summary: "A document's text (secrets sealed) as of a version (default the latest)",
    caller: "user",
    pathParams: { scope: SCOPE },
    query: [query("version", "As of this version", { type: "integer" })],
    ok: { json: anyObject },
    errors: [400, 401, 403, 404],
  },
  {
    method: "PUT",
    path: "/api/v1/config/documents/:scope",
    summary: "Saves a document as a new version, checked with the agent's schema first",
    description:
      "422 with every problem (document, line, key path) and the diff when it does not check; 409 when `base` is not the latest version.",
    caller: "user",
    pathParams: { scope: SCOPE },
    body: changeSchema,
    ok: { status: 201, description: "Saved as a new version", json: anyObject },
    errors: CHANGE_ERRORS,
  },
  {
    method: "DELETE",
    path: "/api/v1/config/documents/:scope",
    summary: "Removes a document as a new version (checked: what narrower documents need stays)",
    caller: "user",
    pathParams: { scope: SCOPE },
    body: removeSchema,
    ok: { status: 201, description: "Removed as a new version", json: anyObject },
    errors: [...CHANGE_ERRORS, 404],
  },
  {
    method: "POST",
    path: "/api/v1/config/check",
    summary: "Checks a document and shows its diff, saving nothing",
    caller: "user",
    body: checkSchema,
    ok: { json: anyObject },
    errors: [400, 401, 403, 413],
  },
  {
    method: "POST",
    path: "/api/v1/config/rollback",
    summary: "A new version with an earlier version's documents",
    caller: "user",
    body: rollbackSchema,
    ok: { status: 201, description: "Rolled back as a new version", json: anyObject },
    errors: [400, 401, 403, 404, 409, 413],
  },
  {
    method: "POST",
    path: "/api/v1/config/versions/:n/rollout",
    summary: "Changes who gets a version: one agent, a site, an environment or the fleet",
    caller: "user",
    pathParams: { n: VERSION },
    body: rolloutSchema,
    ok: { json: anyObject },
    errors: [400, 401, 403, 404, 413],
  },
  {
    method: "GET",
    path: "/api/v1/config/webhooks",
    summary: "The webhooks of the documents, their URLs shown only as far as the host",
    caller: "user",
    ok: { json: anyObject },
    errors: [401, 403],
  },
  {
    method: "PUT",
    path: "/api/v1/config/webhooks/:scope/:name",
    summary: "Sets a webhook's URL (and kind) in a document as a new version",
    caller: "user",
    pathParams: { scope: SCOPE },
    body: webhookSchema,
    ok: { status: 201, description: "Saved as a new version", json: anyObject },
    errors: CHANGE_ERRORS,
  },
  {
    method: "POST",
    path: "/api/v1/config/webhooks/:scope/:name/test",
    summary: "Sends a test message to a document's webhook from the collector",
    description: "502 with the provider's answer when it refused.",
    caller: "user",
    pathParams: { scope: SCOPE },
    ok: { json: anyObject },
    errors: [400, 401, 403, 409, 502],
  },
  {
    method: "GET",
    path: "/api/v1/config/agents",
    summary: "Each agent: the version its rollout says, the one it runs, a refusal and why",
    caller: "user",
    ok: { json: anyObject },
    errors: [401, 403],
  },
];
