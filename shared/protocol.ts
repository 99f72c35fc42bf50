/**
 * The agent ↔ collector wire protocol, as zod schemas both sides validate
 * with. Version 1. Every request carries the agent's token
 * (`Authorization: Bearer <token>`); the collector answers JSON.
 *
 * - `POST /api/v1/ingest`: an `IngestRequest` (heartbeat + a batch of events
 *   numbered per agent + command acks) → an `IngestResponse` (the highest
 *   contiguous seq stored, pending commands, the server's clock).
 * - `GET /api/v1/commands?wait=<ms>`: a long-poll for commands (≤ 30 s).
 * - `POST /api/v1/leases/<script>`: a `LeaseRequest` → a `LeaseResponse`.
 * - `POST /api/v1/dedupe`: a `DedupeRequest` → a `DedupeResponse`.
 *
 * The ids and descriptions given with `.meta()` and `.describe()` name and
 * explain these shapes in the collector's OpenAPI document, generated from
 * them (`collector/api/openapi.ts`).
 */
import { z } from "zod";

/** The protocol version this code speaks. */
export const PROTOCOL_VERSION = 1;

/** At most this many events in one ingest batch. */
export const MAX_BATCH_EVENTS = 500;

/** Ingest bodies larger than this are refused (413). */
export const MAX_INGEST_BYTES = 1024 * 1024;

const name = z.string().min(1).max(100).regex(/^[A-Za-z0-9_.-]+$/);
const iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "expected an ISO time")
  .meta({ format: "date-time" });

/** Who is talking: sent with every ingest. */
export const agentIdentitySchema = z.strictObject({
  site: name,
  host: name,
  version: z.string().max(50),
  os: z.string().max(50),
  pid: z.number().int().nonnegative(),
  startedAt: iso,
  now: iso.describe("The agent's clock when it sent the request, for the skew"),
}).meta({ id: "AgentIdentity", description: "Who is talking: sent with every ingest" });

/** One script as the heartbeat reports it. */
export const scriptSummarySchema = z.strictObject({
  name,
  state: z.string().max(30),
  health: z.string().max(30),
  enabled: z.boolean(),
  pid: z.number().int().nullable(),
  uptimeMs: z.number().nullable(),
  restarts: z.number().int().nonnegative(),
  rssBytes: z.number().nonnegative().nullable(),
  cpuPercent: z.number().nonnegative().nullable(),
  lastExit: z.strictObject({
    at: iso,
    code: z.number().int().nullable(),
    signal: z.string().max(20).nullable(),
    runtimeMs: z.number().nonnegative().optional().describe(
      "How long that run lasted (absent from older agents)",
    ),
  }).nullable(),
  checks: z.array(z.strictObject({
    name: z.string().max(200),
    status: z.enum(["ok", "warning", "failing", "unknown"]),
    reason: z.string().max(1000),
    alert: z.boolean().optional().describe(
      "False when the check's action asks for no alert (absent: it does)",
    ),
  })).max(100),
  reason: z.string().max(1000).nullable(),
  schedule: z.string().max(200).nullable().optional().describe(
    "The cron expression of a scheduled script (absent from older agents)",
  ),
  singleton: z.strictObject({
    scope: z.enum(["site", "machine"]),
    here: z.boolean().describe("This agent holds the script's site lease or machine claim"),
    holder: z.string().max(200).nullable().describe(
      "Who holds it: `BFI4/ws-07` (site), `ann, pid 4242` (machine); null when none or unknown",
    ),
  }).optional().describe("Where a singleton script runs (absent for the others)"),
  pings: z.number().int().nonnegative().optional().describe(
    "Heartbeat pings since its agent started (absent: never pinged)",
  ),
  posted: z.number().int().nonnegative().optional().describe(
    "Relayed posts attributed to the script since its agent started (absent: none attributed)",
  ),
  anomalies: z.literal(false).optional().describe(
    "False when the script's anomaly alerts are turned off (`anomalies = false`)",
  ),
  offHours: z.enum(["stop", "relax", "run"]).optional().describe(
    "Outside its active hours: stopped, relaxed (warnings at most) or run as usual with no " +
      "alert (absent in hours, for scripts without active hours and from older agents)",
  ),
}).meta({ id: "ScriptSummary", description: "One script as the heartbeat reports it" });

/** One event from the agent's event log, numbered per agent. */
export const wireEventSchema = z.strictObject({
  seq: z.number().int().positive(),
  at: iso,
  kind: z.string().max(30),
  script: name.optional(),
  data: z.record(z.string(), z.unknown()).describe(
    "The rest of the agent's event (state, exitCode, reason, check, value...)",
  ),
}).meta({
  id: "WireEvent",
  description: "One event from the agent's event log, numbered per agent",
});

/** At most this many log lines in one `logs` answer. */
export const MAX_LOG_LINES = 500;

/** A log line's text is cut to this many characters. */
export const MAX_LOG_LINE_CHARS = 2000;

/** Which pipe a log line came from; "other" for a line without the agent's tag. */
export const logStreamSchema = z.enum(["stdout", "stderr", "other"]);

/** The answer to a `logs` command: lines of a script's log, oldest first. */
export const logsPayloadSchema = z.strictObject({
  lines: z.array(z.strictObject({
    at: iso.nullable().describe(
      "When the agent wrote it; null for a line without the agent's timestamp",
    ),
    stream: logStreamSchema,
    text: z.string().max(MAX_LOG_LINE_CHARS),
  })).max(MAX_LOG_LINES),
  cursor: z.string().max(200).describe(
    "Pass it back as after for the lines written since; opaque",
  ),
  truncated: z.boolean().describe(
    "Lines after `after` were left out (more were written than one answer holds)",
  ),
}).meta({
  id: "LogsPayload",
  description: "The answer to a logs command: lines of a script's log, oldest first",
});

/** A command's outcome, as the agent reports it. */
export const commandAckSchema = z.strictObject({
  id: z.string().max(100),
  ok: z.boolean(),
  message: z.string().max(1000),
  at: iso,
  logs: logsPayloadSchema.optional().describe("Only in the answer to a logs command"),
}).meta({ id: "CommandAck", description: "A command's outcome, as the agent reports it" });

/** One token (`[tokens.<name>]`) as the heartbeat reports it: never its value. */
export const tokenSummarySchema = z.strictObject({
  name,
  state: z.string().max(30).describe("valid | expiring | unknown | invalid | expired"),
  expiresAt: iso.nullable().describe("The stated or predicted expiry; null when unknown"),
  secondsLeft: z.number().int().nullable(),
  predicted: z.boolean().describe(
    "expiresAt is predicted from learned lifetimes, not stated by the token",
  ),
  confidence: z.number().min(0).max(1).describe("0..1: how sure expiresAt is"),
  usedBy: z.array(name).max(1000).describe("The scripts that wait for it"),
}).meta({
  id: "TokenSummary",
  description: "One token ([tokens.<name>]) as the heartbeat reports it: never its value",
});

/** The largest central config document (bytes of its text). */
export const MAX_CONFIG_DOCUMENT_BYTES = 60_000;

/**
 * The central config an agent runs, as it reports it with each ingest (to a
 * collector that names `central-config` in its features).
 */
export const centralConfigStateSchema = z.strictObject({
  version: z.number().int().positive().nullable().describe(
    "The central config version applied; null: none (the local file alone)",
  ),
  refused: z.strictObject({
    version: z.number().int().positive(),
    message: z.string().max(4000).describe("Why, as `validate` words it (key path and line)"),
  }).optional().describe("The newest version it refused, when newer than the one it runs"),
  pending: z.number().int().positive().optional().describe(
    "A version it has and will try at its next reload (its file is broken meanwhile, say)",
  ),
}).meta({
  id: "CentralConfigState",
  description: "The central config version an agent runs, or the one it refused and why",
});

/** One central config document as an agent gets it: merged in order over its local file. */
export const configLayerSchema = z.strictObject({
  name: z.string().max(300).describe('What errors call it: "central config v5 (site:FC1)"'),
  // Room for the document as unsealed (a value's quoting may grow a little).
  text: z.string().max(2 * MAX_CONFIG_DOCUMENT_BYTES).describe("TOML, secrets in plain"),
}).meta({ id: "ConfigLayer", description: "One central config document for an agent" });

/** A central config version for one agent: the fleet's, its site's and its own documents. */
export const centralConfigSchema = z.strictObject({
  version: z.number().int().positive(),
  layers: z.array(configLayerSchema).max(4).describe(
    "Fleet, environment, site, agent: in the order they merge",
  ),
}).meta({
  id: "CentralConfig",
  description: "A central config version for one agent (only to agents with central-config)",
});

/** `POST /api/v1/ingest`. */
export const ingestRequestSchema = z.strictObject({
  protocol: z.literal(PROTOCOL_VERSION),
  agent: agentIdentitySchema,
  scripts: z.array(scriptSummarySchema).max(1000),
  events: z.array(wireEventSchema).max(MAX_BATCH_EVENTS).describe(
    "Ascending seq; may repeat ones already stored (a replay): those are no-ops",
  ),
  acks: z.array(commandAckSchema).max(100).default([]),
  dropped: z.number().int().nonnegative().default(0).describe(
    "Events the agent's spool dropped (resource samples only), since it started",
  ),
  tokens: z.array(tokenSummarySchema).max(100).optional().describe(
    "The agent's tokens and their time left (absent from agents without tokens support)",
  ),
  config: centralConfigStateSchema.optional().describe(
    "The central config it runs (sent to collectors with central-config)",
  ),
}).meta({
  id: "IngestRequest",
  description: "Heartbeat, a batch of events numbered per agent, and command acks",
});

/**
 * Request header naming what an agent understands beyond version 1's
 * commands (comma separated, e.g. `logs`); the collector sends a `logs`
 * command only to an agent that said so, as older agents refuse the action.
 */
export const AGENT_FEATURES_HEADER = "X-Scriptmon-Features";

/**
 * Answer header naming what a collector accepts beyond version 1's requests (comma separated).
 * `script-extras`: a script summary's `posted`, `pings`, `offHours`, `anomalies` and
 * `lastExit.runtimeMs`; `central-config`: an ingest's `config` (the central config version the
 * agent runs). An agent sends them only to a collector that said so, since older collectors
 * refuse keys they do not know.
 */
export const COLLECTOR_FEATURES_HEADER = "X-Scriptmon-Collector-Features";

/** What this collector accepts (see {@linkcode COLLECTOR_FEATURES_HEADER}). */
export const COLLECTOR_FEATURES = ["script-extras", "central-config"] as const;

/** Parameters of a `logs` command. */
export const logsParamsSchema = z.strictObject({
  lines: z.number().int().min(1).max(MAX_LOG_LINES).describe(
    "The last this many lines (when after is absent), or at most this many after it",
  ),
  after: z.string().max(200).optional().describe(
    "A cursor from an earlier answer: only lines written since",
  ),
}).meta({ id: "LogsParams", description: "Parameters of a logs command" });

/**
 * A remote command: only these actions on configured scripts. `logs` reads
 * the script's log (read-only) and answers with the lines in the ack.
 */
export const commandSchema = z.strictObject({
  id: z.string().max(100),
  action: z.enum(["start", "stop", "restart", "logs"]),
  params: logsParamsSchema.optional().describe("Only with logs"),
  script: name,
  expiresAt: iso.describe("After this the agent must not carry it out"),
  requestedBy: z.string().max(200),
}).meta({
  id: "Command",
  description:
    "A remote command: only these actions on configured scripts; logs reads the script's log and answers with the lines in the ack",
});

/** The answer to an ingest. */
export const ingestResponseSchema = z.strictObject({
  ackedSeq: z.number().int().nonnegative().describe(
    "Every event up to this seq is stored: the agent may drop them from its spool",
  ),
  commands: z.array(commandSchema),
  now: iso.describe("The collector's clock"),
  config: centralConfigSchema.optional().describe(
    "A central config version to apply: only to an agent naming central-config, when it runs another",
  ),
}).meta({ id: "IngestResponse", description: "The answer to an ingest" });

/** The most copies of one site singleton (`replicas`): slots 0 to 99. */
export const MAX_LEASE_REPLICAS = 100;

/**
 * `POST /api/v1/leases/<script>`. With `replicas` (N), the script's lease has N
 * slots and the agent holds at most one; without it, one (slot 0), as before
 * `replicas` existed, and the answer has none of the replica fields.
 */
export const leaseRequestSchema = z.strictObject({
  action: z.enum(["acquire", "renew", "release"]),
  ttlMs: z.number().int().min(1000).max(600_000).default(15_000),
  replicas: z.number().int().min(1).max(MAX_LEASE_REPLICAS).optional().describe(
    "How many copies may run at the site, one per agent (absent: 1, and an answer without " +
      "the replica fields)",
  ),
  replica: z.number().int().min(0).max(MAX_LEASE_REPLICAS - 1).optional().describe(
    "The slot renewed or released (absent: the one this agent holds); only with replicas",
  ),
}).meta({ id: "LeaseRequest", description: "Acquire, renew or release a site lease" });

/** A lease's state after the request. */
export const leaseResponseSchema = z.strictObject({
  held: z.boolean(),
  holder: z.string().nullable().describe(
    "site/host of the holder, null when free; not held with replicas: the holder of the " +
      "slot that expires first",
  ),
  expiresAt: iso.nullable(),
  replica: z.number().int().min(0).max(MAX_LEASE_REPLICAS - 1).nullable().optional().describe(
    "The slot this agent holds (its SCRIPTMON_REPLICA), null when none; present only when the request named replicas",
  ),
  replicas: z.number().int().min(1).max(MAX_LEASE_REPLICAS).optional().describe(
    "The replicas asked for; present only when the request named replicas",
  ),
  holders: z.array(z.string().nullable()).max(MAX_LEASE_REPLICAS).optional().describe(
    "site/host holding each slot, null for a free one; present only when the request named replicas",
  ),
}).meta({ id: "LeaseResponse", description: "A lease's state after the request" });

/** `POST /api/v1/dedupe`: claim a site-wide dedupe key. */
export const dedupeRequestSchema = z.strictObject({
  key: z.string().min(1).max(1000),
  windowMs: z.number().int().min(1000).max(7 * 24 * 3600_000),
}).meta({ id: "DedupeRequest", description: "Claim a site-wide dedupe key for a window" });

/** Whether this agent got the claim. */
export const dedupeResponseSchema = z.strictObject({ claimed: z.boolean() }).meta({
  id: "DedupeResponse",
  description: "Whether this agent got the claim",
});

/** The agent's identity. */
export type AgentIdentity = z.infer<typeof agentIdentitySchema>;
/** One script in a heartbeat. */
export type ScriptSummary = z.infer<typeof scriptSummarySchema>;
/** One token in a heartbeat. */
export type TokenSummary = z.infer<typeof tokenSummarySchema>;
/** One event on the wire. */
export type WireEvent = z.infer<typeof wireEventSchema>;
/** A command's outcome. */
export type CommandAck = z.infer<typeof commandAckSchema>;
/** An ingest request (after defaults). */
export type IngestRequest = z.infer<typeof ingestRequestSchema>;
/** An ingest request as sent (defaults may be left out). */
export type IngestRequestInput = z.input<typeof ingestRequestSchema>;
/** Parameters of a `logs` command. */
export type LogsParams = z.infer<typeof logsParamsSchema>;
/** The lines a `logs` command answers with. */
export type LogsPayload = z.infer<typeof logsPayloadSchema>;
/** One line of a `logs` answer. */
export type LogLine = LogsPayload["lines"][number];
/** A remote command. */
export type Command = z.infer<typeof commandSchema>;
/** An ingest answer. */
export type IngestResponse = z.infer<typeof ingestResponseSchema>;
/** A lease request. */
export type LeaseRequest = z.infer<typeof leaseRequestSchema>;
/** A lease answer. */
export type LeaseResponse = z.infer<typeof leaseResponseSchema>;
/** A dedupe claim. */
export type DedupeRequest = z.infer<typeof dedupeRequestSchema>;
/** A dedupe answer. */
export type DedupeResponse = z.infer<typeof dedupeResponseSchema>;
/** The central config an agent reports. */
export type CentralConfigState = z.infer<typeof centralConfigStateSchema>;
/** One central config document for an agent. */
export type ConfigLayerWire = z.infer<typeof configLayerSchema>;
/** A central config version for an agent. */
export type CentralConfigWire = z.infer<typeof centralConfigSchema>;
