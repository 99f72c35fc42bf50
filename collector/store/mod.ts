/**
 * The store: agents, scripts, events, commands, alerts and history in Deno KV, written in atomic
 * batches with retries, and its backup and restore.
 *
 * @module
 */

export type { AlertRecord } from "./alerts.ts";
export { BackupFormatError, backupKv, restoreKv, RestoreTargetError } from "./backup.ts";
export { SAMPLE_RETENTION_MS } from "./history.ts";
export type { DayRollup, PresenceMark, ResourcePoint, Transition } from "./history.ts";
export { kvPath, openCollectorKv } from "./kv.ts";
export { openStore, withKv } from "./open.ts";
export { storeSignals } from "./signals.ts";
export type { SignalTopic, StoreSignals } from "./signals.ts";
export type { OpenedStore, StoreLocation } from "./open.ts";
export { retryLocked } from "./kv_retry.ts";
export { SeqGapError, Store } from "./store.ts";
export { hashToken } from "./tokens.ts";
export { StoreConflictError } from "./types.ts";
export type {
  AgentRecord,
  AgentScripts,
  AgentTokens,
  CommandRecord,
  StoredEvent,
  TokenKind,
  TokenRecord,
} from "./types.ts";
