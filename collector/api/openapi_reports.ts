/**
 * The route table's entries for `report_routes.ts` (uptime, history,
 * tokens), `export_routes.ts` (the datasets for analysts), `alerting_routes.ts`
 * (notifications, silences, routes) and `audit_routes.ts` (the audit trail);
 * see `openapi_routes.ts`.
 *
 * @module
 */

import { routeRequestSchema } from "../../shared/notify/runtime_rules.ts";
import { DATASETS, DEFAULT_WINDOW_MS, EXPORT_FORMATS } from "../export/mod.ts";
import {
  anyObject,
  historySchema,
  listOf,
  silenceRequestSchema,
  uptimeReportSchema,
} from "./_openapi_answers.ts";
import { type ApiRoute, CSV, query, windowQuery, XLSX } from "./_openapi_parts.ts";

/** `DELETE` of a silence or route added through the API. */
const remove = (what: string, path: string, errors: number[]): ApiRoute => ({
  method: "DELETE",
  path,
  summary: `Removes a ${what} added through the API`,
  caller: "user",
  ok: { json: anyObject },
  errors: [401, ...errors],
});

/** The routes of the reports, the alerting and the audit trail. */
export const REPORT_ROUTES: readonly ApiRoute[] = [
  {
    method: "GET",
    path: "/api/v1/reports/uptime",
    summary:
      "Uptime of every script over a window (default the last 7 days), from daily rollups and state changes",
    caller: "user",
    query: [
      query("site", "Only this site"),
      ...windowQuery(),
      query("format", "json (default), csv, or xlsx (an Excel workbook)", {
        enum: ["json", "csv", "xlsx"],
      }),
    ],
    ok: {
      json: uptimeReportSchema,
      other: { ...CSV, ...XLSX },
    },
    errors: [400, 401],
  },
  {
    method: "GET",
    path: "/api/v1/reports/digest",
    summary:
      "A site's (or the fleet's) digest of a window (default the last 24 h): uptime and restarts per script, incidents with durations, anomalies, tokens needing someone, notifications sent and failed",
    caller: "user",
    query: [
      query("site", "This site (a caller limited to several sites must name one)"),
      ...windowQuery(),
    ],
    ok: { json: anyObject },
    errors: [400, 401, 403],
  },
  {
    method: "GET",
    path: "/api/v1/export/:dataset",
    summary:
      "A dataset for analysts as JSON lines or CSV, streamed: the columns of the PostgreSQL view analytics.<dataset>",
    description:
      `Datasets: ${
        DATASETS.map((d) => `${d.name} (${d.description}; the window selects ${d.window})`)
          .join("; ")
      }. The window defaults to the ${DEFAULT_WINDOW_MS / 86_400_000} days before until. ` +
      "config_changes needs an admin of every site.",
    caller: "user",
    pathParams: { dataset: { type: "string", enum: DATASETS.map((d) => d.name) } },
    query: [
      query("site", "Only this site (not with config_changes)"),
      ...windowQuery(),
      query("format", "jsonl (default: one JSON object per line) or csv (a header row)", {
        enum: [...EXPORT_FORMATS],
      }),
    ],
    ok: {
      other: { "application/x-ndjson": { schema: { type: "string" } }, ...CSV },
    },
    errors: [400, 401, 403, 404],
  },
  {
    method: "GET",
    path: "/api/v1/tokens",
    summary:
      "Every agent's tokens ([tokens.<name>]): state, expiry (stated or predicted), seconds left now, the scripts that use them; never their values",
    caller: "user",
    query: [query("site", "Only this site")],
    ok: { json: listOf("tokens") },
    errors: [401],
  },
  {
    method: "GET",
    path: "/api/v1/agents/:site/:host/scripts/:name/history",
    summary:
      "A script's uptime, state segments and resource samples over a window (default the last 24 h)",
    caller: "user",
    query: windowQuery(),
    ok: { json: historySchema },
    errors: [400, 401, 404],
  },
  {
    method: "GET",
    path: "/api/v1/notifications",
    summary:
      "The collector's alert messages, newest first, with state, attempts and the provider's last answer",
    caller: "user",
    query: [
      query("channel", "Only this webhook"),
      query("state", "Only this state (sent, failed, silenced, ...)"),
      query("site", "Only messages about this site"),
      ...windowQuery(),
      query("limit", "At most this many (1..1000, default 100)", { type: "integer" }),
    ],
    ok: { json: anyObject },
    errors: [400, 401],
  },
  {
    method: "GET",
    path: "/api/v1/silences",
    summary: "Silences in force: the config file's and those added through the API",
    caller: "user",
    ok: { json: anyObject },
    errors: [401],
  },
  {
    method: "POST",
    path: "/api/v1/silences",
    summary: "Adds a silence: matching alerts are recorded but not delivered until it ends",
    description:
      "A caller scoped to some sites must name one of them in match.site (else 403); it may remove only such silences.",
    caller: "user",
    body: silenceRequestSchema,
    ok: { status: 201, description: "Added", json: anyObject },
    errors: [400, 401, 403, 413],
  },
  remove("silence", "/api/v1/silences/:id", [404, 409]),
  {
    method: "GET",
    path: "/api/v1/routes",
    summary: "Routes: the config file's and those added through the API (tried first)",
    caller: "user",
    ok: { json: anyObject },
    errors: [401],
  },
  {
    method: "POST",
    path: "/api/v1/routes",
    summary: "Adds a route, written as a [[notify.routes]] table in JSON",
    caller: "user",
    body: routeRequestSchema,
    ok: { status: 201, description: "Added", json: anyObject },
    errors: [400, 401, 413],
  },
  remove("route", "/api/v1/routes/:id", [404]),
  {
    method: "GET",
    path: "/api/v1/audit",
    summary:
      "The audit trail, newest first: sign-ins, commands, acks, silences, routes, users, tokens, backups; each entry hash-chained to the one before (admins only)",
    caller: "user",
    query: [
      ...windowQuery(),
      query("action", "Actions starting with this (command, signin, silence.add, ...)"),
      query("actor", "Exactly this actor (user:<name>, api-token:<name>, cli:<user>)"),
      query("limit", "At most this many (default 100; CSV 100,000)", { type: "integer" }),
      query("format", "json (default) or csv", { enum: ["json", "csv"] }),
    ],
    ok: {
      json: anyObject,
      other: CSV,
    },
    errors: [400, 401, 403],
  },
];
