/**
 * zod schemas of the collector's own answers and of the request bodies not
 * parsed with zod, for the OpenAPI document only: the wire protocol's
 * schemas are in `shared/protocol.ts`. `_openapi_answers_test.ts` checks at
 * type-check time that each one has the shape of the type its route returns.
 *
 * @module
 */

import { z } from "zod";
import { commandAckSchema, commandSchema, logsPayloadSchema } from "../../shared/protocol.ts";
import { SEVERITIES } from "../../shared/notify/policy_schema.ts";
import { MATCHER_FIELDS } from "../../shared/notify/silences.ts";

const time = z.string().meta({ format: "date-time" });
/** Which script: the fields a script's answers start with. */
const scriptKey = { site: z.string(), host: z.string(), script: z.string() };

/** Any JSON object (a shape the document does not spell out). */
export const anyObject = z.looseObject({});

/** `{ <key>: [ ... ] }`: a listing whose items the document does not spell out. */
export const listOf = (key: string) => z.object({ [key]: z.array(anyObject) });

/** One alert's life (`AlertRecord`). */
export const alertSchema = z.strictObject({
  id: z.string(),
  rule: z.string().describe("agent-offline, script-down, crash-looping, ..."),
  key: z.string().describe("<rule>|<site>|<host>|<script>|<check>"),
  severity: z.enum(SEVERITIES),
  site: z.string(),
  host: z.string(),
  script: z.string().nullable(),
  check: z.string().nullable(),
  title: z.string(),
  firedAt: time,
  resolvedAt: time.nullable().describe("null while it fires"),
  acknowledgedBy: z.string().nullable().describe("api-token:<name>"),
  acknowledgedAt: time.nullable(),
}).meta({ id: "Alert", description: "An alert the collector raised, with its life" });

/** A queued command with its state and outcome (`CommandRecord`). */
export const commandRecordSchema = z.strictObject({
  ...commandSchema.shape,
  site: z.string(),
  host: z.string(),
  createdAt: time,
  state: z.enum(["pending", "done", "expired"]),
  result: commandAckSchema.omit({ id: true }).nullable().describe(
    "The agent's ack, once it came",
  ),
}).meta({ id: "CommandRecord", description: "A queued command with its outcome" });

/** One stored event (`StoredEvent`). */
export const storedEventSchema = z.strictObject({
  site: z.string(),
  host: z.string(),
  seq: z.number().int(),
  at: time,
  kind: z.string(),
  script: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
  receivedAt: time.describe("The collector's clock when it was stored"),
}).meta({ id: "Event", description: "One event of an agent, as stored" });

/** A script's uptime over a window (`Uptime`). */
export const uptimeSchema = z.strictObject({
  upMs: z.number().describe("starting, running, stopping"),
  downMs: z.number().describe("backoff, crash-looping, failed, waiting-for-token"),
  idleMs: z.number().describe("stopped, exited (switched off, or between runs)"),
  unknownMs: z.number().describe("agent offline, or no state known"),
  ratio: z.number().nullable().describe("up / (up + down)"),
  restarts: z.number().int(),
}).meta({ id: "Uptime", description: "The uptime of a script over a window" });

/** One row of the uptime report (`UptimeRow`). */
export const uptimeRowSchema = z.strictObject({
  ...scriptKey,
  ...uptimeSchema.shape,
}).meta({ id: "UptimeRow", description: "One script's uptime in the report" });

/** The uptime report over a window. */
export const uptimeReportSchema = z.object({
  since: time,
  until: time,
  scripts: z.array(uptimeRowSchema),
});

/** The answer of the logs route (`LogsAnswer`). */
export const logsAnswerSchema = z.strictObject({
  ...scriptKey,
  ...logsPayloadSchema.shape,
  truncated: z.boolean().describe("Lines between the cursor and the first line were left out"),
}).meta({ id: "LogsAnswer", description: "Lines of a script's log, oldest first" });

/** A script's history over a window. */
export const historySchema = z.object({
  since: time,
  until: time,
  uptime: uptimeSchema,
  segments: z.array(z.strictObject({ from: time, to: time, state: z.string().nullable() })),
  resources: z.array(anyObject),
});

/** `POST /api/v1/silences` (parsed by `parseSilenceRequest`). */
export const silenceRequestSchema = z.object({
  match: z.strictObject(
    Object.fromEntries(MATCHER_FIELDS.map((field) => [field, z.string().min(1).optional()])),
  ).describe(`${MATCHER_FIELDS.join(", ")}: exact or * globs`),
  for: z.string().optional().describe('A duration like "2h"'),
  until: time.optional(),
  comment: z.string().optional(),
});
