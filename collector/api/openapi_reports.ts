/**
 * The OpenAPI paths of `routes_reports.ts` (uptime, history, tokens),
 * `routes_alerting.ts` (notifications, silences, routes) and
 * `routes_audit.ts` (the audit trail).
 *
 * @module
 */

import { apiAuth, errors, type Json, json, path, query } from "./_openapi_parts.ts";

const window = [
  query("since", "Start of the window (ISO time)", { type: "string", format: "date-time" }),
  query("until", "End of the window (ISO time; default now)", {
    type: "string",
    format: "date-time",
  }),
];

const uptime: Json = {
  type: "object",
  properties: {
    upMs: { type: "number", description: "starting, running, stopping" },
    downMs: { type: "number", description: "backoff, crash-looping, failed, waiting-for-token" },
    idleMs: { type: "number", description: "stopped, exited (switched off, or between runs)" },
    unknownMs: { type: "number", description: "agent offline, or no state known" },
    ratio: { type: ["number", "null"], description: "up / (up + down)" },
    restarts: { type: "integer" },
  },
};

/** `/api/v1/reports/uptime`, a script's history, the tokens. */
export function reportPaths(): Json {
  return {
    "/api/v1/reports/uptime": {
      get: {
        summary:
          "Uptime of every script over a window (default the last 7 days), from daily rollups and state changes",
        security: apiAuth,
        parameters: [
          query("site", "Only this site"),
          ...window,
          query("format", "json (default) or csv", { enum: ["json", "csv"] }),
        ],
        responses: {
          "200": json({
            type: "object",
            properties: { scripts: { type: "array", items: uptime } },
          }),
          ...errors(400, 401),
        },
      },
    },
    "/api/v1/tokens": {
      get: {
        summary:
          "Every agent's tokens ([tokens.<name>]): state, expiry (stated or predicted), seconds left now, the scripts that use them; never their values",
        security: apiAuth,
        parameters: [query("site", "Only this site")],
        responses: {
          "200": json({ type: "object", properties: { tokens: { type: "array" } } }),
          ...errors(401),
        },
      },
    },
    "/api/v1/agents/{site}/{host}/scripts/{name}/history": {
      get: {
        summary:
          "A script's uptime, state segments and resource samples over a window (default the last 24 h)",
        security: apiAuth,
        parameters: [path("site"), path("host"), path("name"), ...window],
        responses: {
          "200": json({
            type: "object",
            properties: {
              uptime,
              segments: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    from: { type: "string" },
                    to: { type: "string" },
                    state: { type: ["string", "null"] },
                  },
                },
              },
              resources: { type: "array", items: { type: "object" } },
            },
          }),
          ...errors(400, 401, 404),
        },
      },
    },
  };
}

const silenceBody: Json = {
  type: "object",
  required: ["match"],
  properties: {
    match: {
      type: "object",
      description: "site, host, script, check, rule, severity: exact or * globs",
    },
    for: { type: "string", description: 'A duration like "2h"' },
    until: { type: "string", format: "date-time" },
    comment: { type: "string" },
  },
};

/** Notifications, silences and routes. */
export function alertingPaths(): Json {
  const remove = (what: string, codes: number[]) => ({
    delete: {
      summary: `Removes a ${what} added through the API`,
      security: apiAuth,
      parameters: [path("id")],
      responses: { "200": json({ type: "object" }), ...errors(401, ...codes) },
    },
  });
  return {
    "/api/v1/notifications": {
      get: {
        summary:
          "The collector's alert messages, newest first, with state, attempts and the provider's last answer",
        security: apiAuth,
        parameters: [
          query("channel", "Only this webhook"),
          query("state", "Only this state (sent, failed, silenced, ...)"),
          query("site", "Only messages about this site"),
          ...window,
          query("limit", "At most this many (1..1000, default 100)", { type: "integer" }),
        ],
        responses: { "200": json({ type: "object" }), ...errors(400, 401) },
      },
    },
    "/api/v1/silences": {
      get: {
        summary: "Silences in force: the config file's and those added through the API",
        security: apiAuth,
        responses: { "200": json({ type: "object" }), ...errors(401) },
      },
      post: {
        summary: "Adds a silence: matching alerts are recorded but not delivered until it ends",
        description:
          "A caller scoped to some sites must name one of them in match.site (else 403); it may remove only such silences.",
        security: apiAuth,
        requestBody: { content: { "application/json": { schema: silenceBody } } },
        responses: { "201": json({ type: "object" }, "Added"), ...errors(400, 401, 403, 413) },
      },
    },
    "/api/v1/silences/{id}": remove("silence", [404, 409]),
    "/api/v1/routes": {
      get: {
        summary: "Routes: the config file's and those added through the API (tried first)",
        security: apiAuth,
        responses: { "200": json({ type: "object" }), ...errors(401) },
      },
      post: {
        summary: "Adds a route, written as a [[notify.routes]] table in JSON",
        security: apiAuth,
        requestBody: {
          content: {
            "application/json": {
              schema: {
                type: "object",
                required: ["route"],
                properties: { route: { type: "object" }, comment: { type: "string" } },
              },
            },
          },
        },
        responses: { "201": json({ type: "object" }, "Added"), ...errors(400, 401, 413) },
      },
    },
    "/api/v1/routes/{id}": remove("route", [404]),
  };
}

/** The audit trail. */
export function auditPaths(): Json {
  return {
    "/api/v1/audit": {
      get: {
        summary:
          "The audit trail, newest first: sign-ins, commands, acks, silences, routes, users, tokens, backups; each entry hash-chained to the one before (admins only)",
        security: apiAuth,
        parameters: [
          ...window,
          query("action", "Actions starting with this (command, signin, silence.add, ...)"),
          query("actor", "Exactly this actor (user:<name>, api-token:<name>, cli:<user>)"),
          query("limit", "At most this many (default 100; CSV 100,000)", { type: "integer" }),
          query("format", "json (default) or csv", { enum: ["json", "csv"] }),
        ],
        responses: { "200": json({ type: "object" }), ...errors(400, 401, 403) },
      },
    },
  };
}
