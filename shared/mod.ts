/**
 * Code both programs import: the wire protocol, the config toolkit (config/), notifications
 * (notify/), redaction and the Prometheus writer. It opens nothing itself: whatever it needs is
 * passed in.
 *
 * @module
 */

export { escapeLabelValue, Exposition } from "./prometheus.ts";
export { expiresExactly } from "./kv/handle.ts";
export type { KvHandle } from "./kv/handle.ts";
export {
  AGENT_FEATURES_HEADER,
  commandAckSchema,
  commandSchema,
  dedupeRequestSchema,
  dedupeResponseSchema,
  ingestRequestSchema,
  ingestResponseSchema,
  leaseRequestSchema,
  leaseResponseSchema,
  logsPayloadSchema,
  MAX_BATCH_EVENTS,
  MAX_INGEST_BYTES,
  MAX_LOG_LINE_CHARS,
  MAX_LOG_LINES,
  PROTOCOL_VERSION,
  scriptSummarySchema,
} from "./protocol.ts";
export type {
  Command,
  CommandAck,
  DedupeResponse,
  IngestRequest,
  IngestRequestInput,
  IngestResponse,
  LeaseRequest,
  LeaseResponse,
  LogLine,
  LogsParams,
  LogsPayload,
  ScriptSummary,
  TokenSummary,
  WireEvent,
} from "./protocol.ts";
export { readLine } from "./read_line.ts";
export { clearSecrets, redact, registerSecret, unregisterSecret } from "./redact.ts";
export { redactAnswers } from "./redact_answers.ts";
export { formatTable } from "./table.ts";
