/**
 * The route table of the collector's API: every route the app registers
 * but the web pages, with what it takes and answers (zod schemas) and who
 * may call it. The OpenAPI document's paths are built from it
 * (`openapi.ts`), and `openapi_test.ts` fails when the app has a route
 * that is not here or this table a route that the app has not.
 *
 * This file holds the routes of `app.ts`, `agent_routes.ts`,
 * `fleet_routes.ts` and `log_routes.ts`; `openapi_reports.ts` those of
 * the reports, alerting and audit.
 *
 * @module
 */

import { z } from "zod";
import {
  commandSchema,
  dedupeRequestSchema,
  dedupeResponseSchema,
  ingestRequestSchema,
  ingestResponseSchema,
  leaseRequestSchema,
  leaseResponseSchema,
  MAX_BATCH_EVENTS,
  MAX_INGEST_BYTES,
  MAX_LOG_LINES,
} from "../../shared/protocol.ts";
import { MAX_WAIT_MS } from "./agent_routes.ts";
import { ACTIONS } from "./fleet_routes.ts";
import { LOGS_WAIT_MS } from "./log_routes.ts";
import {
  alertSchema,
  anyObject,
  commandRecordSchema,
  listOf,
  logsAnswerSchema,
  storedEventSchema,
} from "./_openapi_answers.ts";
import { type ApiRoute, CSV, query, XLSX } from "./_openapi_parts.ts";
import { REPORT_ROUTES } from "./openapi_reports.ts";
import { CONFIG_ROUTES } from "./openapi_config.ts";

const agentHost = query(
  "host",
  "The agent's host; default the host that last ingested with this token",
);
const collectorNow = ingestResponseSchema.shape.now;

/** The routes of the collector itself and of the agents, the fleet and the logs. */
const FLEET_ROUTES: readonly ApiRoute[] = [
  {
    method: "GET",
    path: "/healthz",
    summary: "Liveness; the only route without a credential",
    caller: "anyone",
    ok: { json: z.object({ ok: z.boolean() }) },
    errors: [],
  },
  {
    method: "GET",
    path: "/metrics",
    summary:
      "The collector's metrics in the Prometheus text format: ingests, agents, scripts, alerts, outbox",
    caller: "user",
    ok: { other: { "text/plain; version=0.0.4": { schema: { type: "string" } } } },
    errors: [],
  },
  {
    method: "GET",
    path: "/api/v1/openapi.json",
    summary: "This document",
    caller: "user",
    ok: { json: anyObject },
    errors: [401],
  },
  {
    method: "POST",
    path: "/api/v1/ingest",
    summary:
      `Heartbeat, events (at most ${MAX_BATCH_EVENTS}, numbered per agent) and command acks; body at most ${MAX_INGEST_BYTES} bytes`,
    caller: "agent",
    body: ingestRequestSchema,
    ok: { json: ingestResponseSchema },
    errors: [400, 401, 403, 413],
  },
  {
    method: "GET",
    path: "/api/v1/commands",
    summary: "Long-poll for this agent's pending commands (answers as soon as one is queued)",
    caller: "agent",
    query: [
      query("wait", `Milliseconds to wait when none is pending (at most ${MAX_WAIT_MS})`, {
        type: "integer",
        minimum: 0,
        maximum: 30000,
      }),
      agentHost,
    ],
    ok: { json: z.strictObject({ commands: z.array(commandSchema), now: collectorNow }) },
    errors: [400, 401, 409, 503],
  },
  {
    method: "POST",
    path: "/api/v1/leases/:script",
    summary:
      "Acquire, renew or release the site lease of a singleton script, or with replicas one of its slots (expiry by the collector's clock)",
    caller: "agent",
    query: [agentHost],
    body: leaseRequestSchema,
    ok: { json: leaseResponseSchema },
    errors: [400, 401, 409],
  },
  {
    method: "POST",
    path: "/api/v1/dedupe",
    summary: "Claim a site-wide dedupe key for a window; claimed is false when already claimed",
    caller: "agent",
    query: [agentHost],
    body: dedupeRequestSchema,
    ok: { json: dedupeResponseSchema },
    errors: [400, 401, 409],
  },
  {
    method: "GET",
    path: "/api/v1/sites",
    summary:
      "Sites with counts of agents (online, offline) and scripts (running, unhealthy, crash-looping, down)",
    caller: "user",
    ok: { json: listOf("sites") },
    errors: [401],
  },
  {
    method: "GET",
    path: "/api/v1/agents",
    summary: "Agents: host, version, OS, last seen, clock skew, online",
    caller: "user",
    query: [query("site", "Only this site")],
    ok: { json: listOf("agents") },
    errors: [401],
  },
  {
    method: "GET",
    path: "/api/v1/scripts",
    summary:
      "Every script of every agent, flattened, with uptimeRatio24h (up / (up + down) over the last 24 h, refreshed every 30 s or so); paged with limit (the next page's cursor in cursor and X-Next-Cursor)",
    caller: "user",
    query: [
      query("site", "Only this site"),
      query("host", "Only this host"),
      query("state", "Exact state: running, crash-looping, backoff, ..."),
      query("health", "Exact health: healthy, warning, unhealthy, unknown"),
      query("q", "Case-insensitive substring of the script name or host"),
      query("limit", "Page size (1..10000); with it, pages in site, host, script order", {
        type: "integer",
      }),
      query("cursor", "From the previous page (its cursor, or X-Next-Cursor), same filters"),
    ],
    ok: { json: listOf("scripts") },
    errors: [400, 401],
  },
  {
    method: "GET",
    path: "/api/v1/events",
    summary:
      "Events, newest first, one page at a time; CSV with format=csv (next cursor in X-Next-Cursor)",
    caller: "user",
    query: [
      query("site", "Only this site"),
      query("host", "Only this host"),
      query("kind", "Only this kind"),
      query("since", "Inclusive ISO time", { type: "string", format: "date-time" }),
      query("until", "Exclusive ISO time", { type: "string", format: "date-time" }),
      query("cursor", "From the previous page, with the same filters"),
      query("limit", "Page size (1..1000, CSV and xlsx 1..10000)", { type: "integer" }),
      query("format", "json (default), csv, or xlsx (an Excel workbook)", {
        enum: ["json", "csv", "xlsx"],
      }),
    ],
    ok: {
      description: "A page",
      json: z.object({
        events: z.array(storedEventSchema),
        cursor: z.string().nullable().describe("The next page's; null on the last"),
      }),
      other: { ...CSV, ...XLSX },
    },
    errors: [400, 401],
  },
  {
    method: "POST",
    path: "/api/v1/agents/:site/:host/scripts/:name/:action",
    summary:
      "Queue start, stop or restart of a script the agent has reported; delivered in its next ingest answer or long-poll",
    caller: "user",
    pathParams: { action: { enum: [...ACTIONS] } },
    ok: {
      status: 202,
      description: "Queued",
      json: z.object({ id: z.string(), command: commandSchema }),
    },
    errors: [401, 404, 413],
  },
  {
    method: "GET",
    path: "/api/v1/agents/:site/:host/scripts/:name/logs",
    summary:
      `Lines of a script's log, read by its agent (a read-only logs command) and answered when it acks, within ${
        LOGS_WAIT_MS / 1000
      } s; follow with after=<cursor>`,
    caller: "user",
    query: [
      query(
        "lines",
        `The last this many lines, or at most this many after the cursor (1..${MAX_LOG_LINES}, default 200)`,
        { type: "integer", minimum: 1, maximum: MAX_LOG_LINES },
      ),
      query("after", "The cursor of an earlier answer: only the lines written since"),
    ],
    ok: { json: logsAnswerSchema },
    errors: [400, 401, 404, 409, 502, 503, 504],
  },
  {
    method: "GET",
    path: "/api/v1/agents/:site/:host/commands/:id",
    summary: "One command with its state (pending, done, expired) and the agent's result",
    caller: "user",
    ok: { json: z.object({ command: commandRecordSchema }) },
    errors: [401, 404],
  },
  {
    method: "GET",
    path: "/api/v1/alerts",
    summary:
      "Alerts the collector raised (agent offline, script down, crash-looping, unhealthy, resource), newest first, with their firing, resolved and acknowledged times",
    caller: "user",
    query: [
      query("state", "firing, resolved or all (default)", { enum: ["all", "firing", "resolved"] }),
      query("site", "Only this site"),
    ],
    ok: { json: z.object({ alerts: z.array(alertSchema) }) },
    errors: [400, 401],
  },
  {
    method: "POST",
    path: "/api/v1/alerts/:id/ack",
    summary: "Acknowledge an alert; records the API token's name and the time",
    caller: "user",
    ok: { json: z.object({ alert: alertSchema }) },
    errors: [401, 404, 413],
  },
];

/** Every route of the API, in the document's order. */
export const API_ROUTES: readonly ApiRoute[] = [
  ...FLEET_ROUTES,
  ...REPORT_ROUTES,
  ...CONFIG_ROUTES,
];
