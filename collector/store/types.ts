/**
 * The records the collector's {@linkcode Store} keeps. Times are ISO
 * strings, as on the wire.
 *
 * @module
 */

import type { Command, CommandAck, ScriptSummary, TokenSummary } from "../../shared/protocol.ts";
import type { SeqRanges } from "./_seq_ranges.ts";
import type { Role } from "../auth/roles.ts";

/** What a token lets its holder do. */
export type TokenKind = "agent" | "api" | "wall";

/** A token as stored: its hash, never the token. */
export interface TokenRecord {
  kind: TokenKind;
  /** Hex SHA-256 of the token. */
  hash: string;
  /** Unique per kind. */
  name: string;
  /** The site an agent token may report for; null for API tokens. */
  site: string | null;
  /** The host that last ingested with this (agent) token; the commands long-poll serves it. */
  host: string | null;
  createdAt: string;
  /** Updated at most once a minute. */
  lastUsedAt: string | null;
  revoked: boolean;
  revokedAt: string | null;
  /** What an API token may do; absent on records made before roles (read as `admin`). */
  role?: Role;
  /** The sites an API or wall token may see; null or absent: every site. */
  sites?: string[] | null;
  /** An agent token's environment (`prod`, `staging`, ...); absent: none. */
  environment?: string;
  /** The environments an API or wall token may see; null or absent: every one. */
  environments?: string[] | null;
}

/** What `TokenStore.create` (`Store.createToken`) makes. */
export interface CreateTokenOptions {
  kind: TokenKind;
  name: string;
  /** An agent token's site. */
  site?: string;
  /** An API token's role; default `viewer` (read only). */
  role?: Role;
  /** An API or wall token's sites; default null (every site). */
  sites?: string[] | null;
  /** An agent token's environment; default none. */
  environment?: string;
  /** An API or wall token's environments; default null (every one). */
  environments?: string[] | null;
  now: number;
}

/** One agent (workstation) as the collector knows it. */
export interface AgentRecord {
  site: string;
  host: string;
  version: string;
  os: string;
  pid: number;
  /** When the agent process started (its clock). */
  startedAt: string;
  firstSeenAt: string;
  /** The collector's clock at the last ingest. */
  lastSeenAt: string;
  /** Agent clock minus collector clock at the last ingest; positive: the agent runs ahead. */
  clockSkewMs: number;
  online: boolean;
  /** When it was last marked offline; null while it never was. */
  offlineAt: string | null;
  /** Every event up to this seq is stored. */
  ackedSeq: number;
  /** Stored seqs above `ackedSeq` (after a gap). */
  ahead: SeqRanges;
  /** Events the agent's spool dropped, as it last reported. */
  dropped: number;
  /** The token it last authenticated with. */
  tokenName: string;
  /** Its token's environment (`prod`, `staging`, ...); absent: none. */
  environment?: string;
  /** How many KV values its script list takes (see `Store.listScripts`). */
  scriptChunks: number;
  scriptCount: number;
  /**
   * When its script list was last written (ms; absent: by a collector before the checkpoints),
   * and the digest of that list (`scriptsDigest` in `_writes.ts`): a heartbeat with the same
   * digest writes it again only `SCRIPTS_CHECKPOINT_MS` after this.
   */
  scriptsAt?: number;
  scriptsDigest?: string;
  /** When the last resource sample of its scripts was kept (ms; 0: never). */
  sampledAt?: number;
}

/** One event as stored. */
export interface StoredEvent {
  site: string;
  host: string;
  seq: number;
  at: string;
  kind: string;
  script?: string;
  data: Record<string, unknown>;
  /** The collector's clock when it was stored. */
  receivedAt: string;
}

/** A queued command with its outcome. */
export interface CommandRecord extends Command {
  site: string;
  host: string;
  createdAt: string;
  state: "pending" | "done" | "expired";
  /** The agent's ack, once it came. */
  result: Omit<CommandAck, "id"> | null;
}

/** An ingest's circumstances: when it came, by which token (of which environment). */
export interface IngestOptions {
  now: number;
  tokenName: string;
  environment?: string;
}

/** What one ingest did. */
export interface IngestResult {
  /** The highest contiguous seq stored, after this batch. */
  ackedSeq: number;
  /** Events of the batch newly stored. */
  stored: number;
  /** Events of the batch that were already stored (replays). */
  duplicates: number;
  /** The agent was offline (or unknown) and is back. */
  cameOnline: boolean;
  /** Commands may be pending: call `store.commands.pending` (false: none are). */
  mayHaveCommands: boolean;
  agent: AgentRecord;
}

/** An agent and the scripts of its last heartbeat. */
export interface AgentScripts {
  agent: AgentRecord;
  scripts: ScriptSummary[];
}

/** The tokens one agent last reported. */
export interface AgentTokens {
  site: string;
  host: string;
  tokens: TokenSummary[];
}

/** Filters of `Store.listEvents`. */
export interface EventQuery {
  site?: string;
  /** Only events of these sites (a scoped caller's); absent: every site. */
  sites?: readonly string[];
  host?: string;
  kind?: string;
  /** Inclusive, ms since the epoch (of the event's `at`). */
  since?: number;
  /** Exclusive, ms since the epoch. */
  until?: number;
  /** From a previous page's `cursor`, with the same filters. */
  cursor?: string;
  /** At most this many events (1..10000). */
  limit: number;
}

/** One page of events, newest first. */
export interface EventPage {
  events: StoredEvent[];
  /** Pass it back for the next page; null when there is none. */
  cursor: string | null;
}

/** A name that is already taken (tokens). */
export class StoreConflictError extends Error {
  override name = "StoreConflictError";
}
