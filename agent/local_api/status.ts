/**
 * What the agent reports of itself and its scripts: the body of the local
 * API's `GET /api/status`, read by the CLI, the status page, `/metrics`, the
 * notifier's alert rules and the collector link.
 *
 * @module
 */

import type { ConfigIssue } from "../config/load.ts";
import type { CheckState } from "../health/types.ts";
import type { ScriptStatus } from "../supervise/state.ts";
import type { TokenStatus } from "../tokens/types.ts";
import type { CentralConfigState } from "../../shared/protocol.ts";

/** What the API reports of the agent itself. */
export interface AgentInfo {
  version: string;
  pid: number;
  site: string;
  host: string;
  configPath: string;
  envName: string | null;
  startedAt: string;
  /** The last reload that failed, while the previous config keeps running. */
  configError: { at: string; message: string; issues: ConfigIssue[] } | null;
  /** The agent's own resources at the last sample (null before the first). */
  resources: AgentResources | null;
  /** Agent-wide checks: "agent-memory" and "disk:<path>" for data_dir and log_dir. */
  checks: CheckState[];
  /** The link to the collector, when one is configured. */
  collector: CollectorLinkStatus | null;
  /** The agent's store as last measured, at most 5 s before the answer (absent from older agents). */
  store?: StoreUsage | null;
  /** The central config version it runs, or the one it refused and why (with a collector). */
  central?: CentralConfigState;
}

/** The agent's store as last measured (`retention.ts`: each pass, and a status read). */
export interface StoreUsage {
  /** ISO time it was measured. */
  at: string;
  /** The store file and its write-ahead log, in bytes. */
  bytes: number;
  /** The oldest message or event kept (ISO), or null when there is none. */
  oldestAt: string | null;
  /** How long finished messages are kept (`[agent] history`). */
  historyMs: number;
}

/** The agent process's own resources and the free disk of its folders. */
export interface AgentResources {
  /** ISO time of the sample. */
  at: string;
  rssBytes: number;
  cpuSeconds: number;
  disk: { path: string; freeBytes: number | null }[];
}

/** The body of `GET /api/status`. */
export interface StatusBody {
  agent: AgentInfo;
  scripts: ScriptStatus[];
  /** Every `[tokens.*]`: state and time left, never the value (absent from older agents). */
  tokens?: TokenStatus[];
}

/** The answer of `GET /readyz`. */
export interface Readiness {
  /** A config is loaded and running (a failed reload keeps it, see `configError`). */
  config: boolean;
  kv: boolean;
  lock: boolean;
}

/** What the local status API shows of the link. */
export interface CollectorLinkStatus {
  /** The collector's base URL (it never holds credentials). */
  url: string;
  /** The last ingest succeeded. */
  connected: boolean;
  /** ISO time of the last successful ingest; null before the first. */
  lastOkAt: string | null;
  /** Why the last ingest failed; null once one succeeds again. */
  lastError: string | null;
  /** Every event up to this seq is stored at the collector. */
  ackedSeq: number;
  /** Events waiting to be sent. */
  pending: number;
  /** Resource samples the spool dropped since the agent started. */
  dropped: number;
}
