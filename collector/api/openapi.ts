/**
 * The OpenAPI 3.1 document of the collector's `/api/v1`, served at
 * `GET /api/v1/openapi.json`. Request and response shapes of the agent
 * protocol are summarised; `shared/protocol.ts` is their definition.
 *
 * @module
 */

import { MAX_BATCH_EVENTS, MAX_INGEST_BYTES, PROTOCOL_VERSION } from "../../shared/protocol.ts";
import { VERSION } from "../version.ts";
import { agentAuth, apiAuth, errors, type Json, json, path, query } from "./_openapi_parts.ts";
import { alertingPaths, auditPaths, reportPaths } from "./openapi_reports.ts";
import { ACCESS_NOTE, sessionScheme, withAccess } from "./_openapi_access.ts";

const error: Json = {
  description: "Refused",
  content: {
    "application/json": {
      schema: {
        type: "object",
        required: ["error"],
        properties: { error: { type: "string" } },
      },
    },
  },
};

const command: Json = {
  type: "object",
  required: ["id", "action", "script", "expiresAt", "requestedBy"],
  properties: {
    id: { type: "string" },
    action: { enum: ["start", "stop", "restart", "logs"] },
    params: {
      type: "object",
      description: "Only with logs: how many lines, and the cursor to read after",
      properties: {
        lines: { type: "integer", minimum: 1, maximum: 500 },
        after: { type: "string" },
      },
    },
    script: { type: "string" },
    expiresAt: { type: "string", format: "date-time" },
    requestedBy: { type: "string" },
  },
};

const nullableText: Json = { type: ["string", "null"] };
const nullableTime: Json = { type: ["string", "null"], format: "date-time" };

const alert: Json = {
  type: "object",
  required: [
    "id",
    "rule",
    "key",
    "severity",
    "site",
    "host",
    "script",
    "check",
    "title",
    "firedAt",
    "resolvedAt",
    "acknowledgedBy",
    "acknowledgedAt",
  ],
  properties: {
    id: { type: "string" },
    rule: { type: "string", description: "agent-offline, script-down, crash-looping, ..." },
    key: { type: "string", description: "<rule>|<site>|<host>|<script>|<check>" },
    severity: { enum: ["critical", "warning", "info"] },
    site: { type: "string" },
    host: { type: "string" },
    script: nullableText,
    check: nullableText,
    title: { type: "string" },
    firedAt: { type: "string", format: "date-time" },
    resolvedAt: { ...nullableTime, description: "null while it fires" },
    acknowledgedBy: { ...nullableText, description: "api-token:<name>" },
    acknowledgedAt: nullableTime,
  },
};

/** The OpenAPI document, built on each call (it is small). */
export function openApiDocument(): Json {
  return {
    openapi: "3.1.0",
    info: {
      title: "scriptmon collector",
      version: VERSION,
      description:
        `The fleet server of scriptmon. Agent protocol version ${PROTOCOL_VERSION}. Every route but /healthz needs "Authorization: Bearer <token>": an agent token for ingest and commands, an API token (or a signed-in user's session cookie) for the rest. ${ACCESS_NOTE} Every 4xx answers {"error": "..."}.`,
    },
    components: {
      securitySchemes: {
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
        ...sessionScheme,
      },
      responses: { Error: error },
      schemas: { Command: command, Alert: alert },
    },
    paths: withAccess({
      ...reportPaths(),
      ...alertingPaths(),
      ...auditPaths(),
      "/healthz": {
        get: {
          summary: "Liveness; the only route without a credential",
          security: [],
          responses: { "200": json({ type: "object", properties: { ok: { type: "boolean" } } }) },
        },
      },
      "/metrics": {
        get: {
          summary:
            "The collector's metrics in the Prometheus text format: ingests, agents, scripts, alerts, outbox",
          security: apiAuth,
          responses: {
            "200": {
              description: "OK",
              content: { "text/plain; version=0.0.4": { schema: { type: "string" } } },
            },
          },
        },
      },
      "/api/v1/ingest": {
        post: {
          summary:
            `Heartbeat, events (at most ${MAX_BATCH_EVENTS}, numbered per agent) and command acks; body at most ${MAX_INGEST_BYTES} bytes`,
          security: agentAuth,
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  required: ["protocol", "agent", "scripts", "events"],
                  properties: {
                    protocol: { const: PROTOCOL_VERSION },
                    agent: { type: "object" },
                    scripts: { type: "array", items: { type: "object" } },
                    events: {
                      type: "array",
                      maxItems: MAX_BATCH_EVENTS,
                      items: { type: "object" },
                    },
                    acks: { type: "array", items: { type: "object" } },
                    dropped: { type: "integer", minimum: 0 },
                  },
                },
              },
            },
          },
          responses: {
            "200": json({
              type: "object",
              required: ["ackedSeq", "commands", "now"],
              properties: {
                ackedSeq: { type: "integer", minimum: 0 },
                commands: { type: "array", items: { $ref: "#/components/schemas/Command" } },
                now: { type: "string", format: "date-time" },
              },
            }),
            ...errors(400, 401, 403, 413),
          },
        },
      },
      "/api/v1/commands": {
        get: {
          summary: "Long-poll for this agent's pending commands (answers as soon as one is queued)",
          security: agentAuth,
          parameters: [
            query("wait", "Milliseconds to wait when none is pending (at most 25000)", {
              type: "integer",
              minimum: 0,
              maximum: 30000,
            }),
            query("host", "The agent's host; default the host that last ingested with this token"),
          ],
          responses: {
            "200": json({
              type: "object",
              properties: {
                commands: { type: "array", items: { $ref: "#/components/schemas/Command" } },
                now: { type: "string", format: "date-time" },
              },
            }),
            ...errors(400, 401, 409, 503),
          },
        },
      },
      "/api/v1/leases/{script}": {
        post: {
          summary:
            "Acquire, renew or release the site lease of a singleton script (expiry by the collector's clock)",
          security: agentAuth,
          parameters: [
            path("script"),
            query("host", "The agent's host; default the host that last ingested with this token"),
          ],
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  required: ["action"],
                  properties: {
                    action: { enum: ["acquire", "renew", "release"] },
                    ttlMs: { type: "integer", minimum: 1000, maximum: 600000, default: 15000 },
                  },
                },
              },
            },
          },
          responses: {
            "200": json({
              type: "object",
              required: ["held", "holder", "expiresAt"],
              properties: {
                held: { type: "boolean" },
                holder: { type: ["string", "null"], description: "site/host, null when free" },
                expiresAt: { type: ["string", "null"], format: "date-time" },
              },
            }),
            ...errors(400, 401, 409),
          },
        },
      },
      "/api/v1/dedupe": {
        post: {
          summary:
            "Claim a site-wide dedupe key for a window; claimed is false when already claimed",
          security: agentAuth,
          parameters: [
            query("host", "The agent's host; default the host that last ingested with this token"),
          ],
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  required: ["key", "windowMs"],
                  properties: {
                    key: { type: "string", minLength: 1, maxLength: 1000 },
                    windowMs: { type: "integer", minimum: 1000, maximum: 604800000 },
                  },
                },
              },
            },
          },
          responses: {
            "200": json({
              type: "object",
              required: ["claimed"],
              properties: { claimed: { type: "boolean" } },
            }),
            ...errors(400, 401, 409),
          },
        },
      },
      "/api/v1/sites": {
        get: {
          summary:
            "Sites with counts of agents (online, offline) and scripts (running, unhealthy, crash-looping, down)",
          security: apiAuth,
          responses: {
            "200": json({ type: "object", properties: { sites: { type: "array" } } }),
            ...errors(401),
          },
        },
      },
      "/api/v1/agents": {
        get: {
          summary: "Agents: host, version, OS, last seen, clock skew, online",
          security: apiAuth,
          parameters: [query("site", "Only this site")],
          responses: {
            "200": json({ type: "object", properties: { agents: { type: "array" } } }),
            ...errors(401),
          },
        },
      },
      "/api/v1/scripts": {
        get: {
          summary:
            "Every script of every agent, flattened, with uptimeRatio24h (up / (up + down) over the last 24 h, refreshed every 30 s or so)",
          security: apiAuth,
          parameters: [
            query("site", "Only this site"),
            query("host", "Only this host"),
            query("state", "Exact state: running, crash-looping, backoff, ..."),
            query("health", "Exact health: healthy, warning, unhealthy, unknown"),
            query("q", "Case-insensitive substring of the script name or host"),
          ],
          responses: {
            "200": json({ type: "object", properties: { scripts: { type: "array" } } }),
            ...errors(401),
          },
        },
      },
      "/api/v1/events": {
        get: {
          summary:
            "Events, newest first, one page at a time; CSV with format=csv (next cursor in X-Next-Cursor)",
          security: apiAuth,
          parameters: [
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
          responses: {
            "200": {
              description: "A page",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    properties: { events: { type: "array" }, cursor: { type: ["string", "null"] } },
                  },
                },
                "text/csv": { schema: { type: "string" } },
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                  schema: { type: "string", format: "binary" },
                },
              },
            },
            ...errors(400, 401),
          },
        },
      },
      "/api/v1/agents/{site}/{host}/scripts/{name}/{action}": {
        post: {
          summary:
            "Queue start, stop or restart of a script the agent has reported; delivered in its next ingest answer or long-poll",
          security: apiAuth,
          parameters: [path("site"), path("host"), path("name"), {
            ...path("action"),
            schema: { enum: ["start", "stop", "restart"] },
          }],
          responses: {
            "202": json({
              type: "object",
              properties: {
                id: { type: "string" },
                command: { $ref: "#/components/schemas/Command" },
              },
            }, "Queued"),
            ...errors(401, 404, 413),
          },
        },
      },
      "/api/v1/agents/{site}/{host}/scripts/{name}/logs": {
        get: {
          summary:
            "Lines of a script's log, read by its agent (a read-only logs command) and answered when it acks, within 10 s; follow with after=<cursor>",
          security: apiAuth,
          parameters: [
            path("site"),
            path("host"),
            path("name"),
            query(
              "lines",
              "The last this many lines, or at most this many after the cursor (1..500, default 200)",
              {
                type: "integer",
                minimum: 1,
                maximum: 500,
              },
            ),
            query("after", "The cursor of an earlier answer: only the lines written since"),
          ],
          responses: {
            "200": json({
              type: "object",
              required: ["site", "host", "script", "lines", "cursor", "truncated"],
              properties: {
                site: { type: "string" },
                host: { type: "string" },
                script: { type: "string" },
                lines: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: {
                      at: nullableTime,
                      stream: { enum: ["stdout", "stderr", "other"] },
                      text: { type: "string" },
                    },
                  },
                },
                cursor: { type: "string" },
                truncated: {
                  type: "boolean",
                  description: "Lines between the cursor and the first line were left out",
                },
              },
            }),
            ...errors(400, 401, 404, 409, 502, 503, 504),
          },
        },
      },
      "/api/v1/agents/{site}/{host}/commands/{id}": {
        get: {
          summary: "One command with its state (pending, done, expired) and the agent's result",
          security: apiAuth,
          parameters: [path("site"), path("host"), path("id")],
          responses: { "200": json({ type: "object" }), ...errors(401, 404) },
        },
      },
      "/api/v1/alerts": {
        get: {
          summary:
            "Alerts the collector raised (agent offline, script down, crash-looping, unhealthy, resource), newest first, with their firing, resolved and acknowledged times",
          security: apiAuth,
          parameters: [
            query("state", "firing, resolved or all (default)", {
              enum: ["all", "firing", "resolved"],
            }),
            query("site", "Only this site"),
          ],
          responses: {
            "200": json({
              type: "object",
              properties: {
                alerts: { type: "array", items: { $ref: "#/components/schemas/Alert" } },
              },
            }),
            ...errors(400, 401),
          },
        },
      },
      "/api/v1/alerts/{id}/ack": {
        post: {
          summary: "Acknowledge an alert; records the API token's name and the time",
          security: apiAuth,
          parameters: [path("id")],
          responses: {
            "200": json({
              type: "object",
              properties: { alert: { $ref: "#/components/schemas/Alert" } },
            }),
            ...errors(401, 404, 413),
          },
        },
      },
      "/api/v1/openapi.json": {
        get: {
          summary: "This document",
          security: apiAuth,
          responses: { "200": json({ type: "object" }), ...errors(401) },
        },
      },
    }),
  };
}
