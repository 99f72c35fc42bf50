/**
 * All of the collector's storage, behind one class. The only backend is
 * Deno KV (the handle is passed in; `main` opens the file). Keys:
 *
 * - `["token", kind, hash]` → {@linkcode TokenRecord}; `["token_name", kind, name]` → hash
 * - `["agent", site, host]` → {@linkcode AgentRecord}
 * - `["scripts", site, host, chunk]` → the last heartbeat's scripts, split to fit KV values
 * - `["event", site, host, seq]` and `["event_time", atMs, site, host, seq]` → {@linkcode StoredEvent}
 * - `["command", site, host, id]` → {@linkcode CommandRecord}; `["command_pending", site, host, id]` → id;
 *   `["command_flag", site, host]` is set while an agent may have pending commands, so that
 *   ingest reads it with the agent record and lists the queue only when it is set
 * - `["alert", id]` → {@linkcode AlertRecord}; `["alert_open", key]` → the id of the key's firing record
 *
 * Ingest is one read of the agent record plus (usually) one atomic: a seq at
 * or below the agent's `ackedSeq`, or in its stored ranges above it, is a
 * replay and skipped without a read; the rest are set with a
 * non-existence check, so a seq already stored is never written twice.
 *
 * @module
 */

import type { Command, CommandAck, IngestRequest, ScriptSummary } from "../shared/protocol.ts";
import type { Severity } from "../shared/notify/types.ts";
import { packGroups, toAtomic, type WriteGroup } from "./_atomic_batches.ts";
import { retryLocked } from "./_kv_retry.ts";
import { addSeqs, isStored } from "./_seq_ranges.ts";
import { generateToken, hashToken, type TokenKind } from "./tokens.ts";
import {
  type AgentRecord,
  type AgentScripts,
  type CommandRecord,
  type EventPage,
  type EventQuery,
  type IngestResult,
  StoreConflictError,
  type StoredEvent,
  type TokenRecord,
} from "./store_types.ts";

/** Largest JSON text of one event or script chunk kept in one KV value (limit 64 KiB). */
const MAX_VALUE_CHARS = 30_000;
/** `lastUsedAt` is written at most this often. */
const TOUCH_EVERY_MS = 60_000;
/** A listing stops after reading this many entries and hands back a cursor. */
const SCAN_BUDGET = 20_000;
/** Ingest gives up after this many conflicting concurrent writes of one agent. */
const MAX_ATTEMPTS = 20;

const iso = (ms: number) => new Date(ms).toISOString();

/** Options of {@linkcode Store.queueCommand}. */
export interface QueueCommandOptions {
  site: string;
  host: string;
  action: Command["action"];
  script: string;
  /** Who asked (API token name, user). */
  requestedBy: string;
  ttlMs: number;
  now: number;
}

/** One alert's life, as `GET /api/v1/alerts` shows it. Times are ISO strings. */
export interface AlertRecord {
  id: string;
  rule: string;
  /** The condition's key, `<rule>|<site>|<host>|<script>|<check>`. */
  key: string;
  severity: Severity;
  site: string;
  host: string;
  script: string | null;
  check: string | null;
  title: string;
  firedAt: string;
  /** Null while it fires. */
  resolvedAt: string | null;
  /** `api-token:<name>` of who acknowledged it, or null. */
  acknowledgedBy: string | null;
  acknowledgedAt: string | null;
}

/** What {@linkcode Store.openAlert} records. */
export type NewAlert = Omit<
  AlertRecord,
  "id" | "resolvedAt" | "acknowledgedBy" | "acknowledgedAt"
>;

/** The collector's storage: tokens, agents, scripts, events, commands. */
/** An ingest would leave more gaps in an agent's seqs than the store keeps track of. */
export class SeqGapError extends RangeError {
  override name = "SeqGapError";
}

/** Gaps (ranges of stored seqs above the contiguous ack) kept per agent. */
export const MAX_SEQ_GAPS = 64;

export class Store {
  #kv: Deno.Kv;
  #listeners = new Set<(command: CommandRecord) => void>();
  #lastStamp = 0;

  /** Uses `kv`; the caller opens and closes it. */
  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** The KV handle, shared with the site leases and dedupe claims (`leases.ts`, `site_dedupe.ts`). */
  get kv(): Deno.Kv {
    return this.#kv;
  }

  // ---- tokens ---------------------------------------------------------------

  /**
   * Creates a token and returns it (shown once) with its record. A name may
   * be reused only once the token holding it is revoked.
   *
   * @throws {StoreConflictError} when a live token of `kind` has `name`.
   */
  async createToken(
    options: { kind: TokenKind; name: string; site?: string; now: number },
  ): Promise<{ token: string; record: TokenRecord }> {
    const token = generateToken(options.kind);
    const record: TokenRecord = {
      kind: options.kind,
      hash: hashToken(token),
      name: options.name,
      site: options.site ?? null,
      host: null,
      createdAt: iso(options.now),
      lastUsedAt: null,
      revoked: false,
      revokedAt: null,
    };
    const nameKey = ["token_name", options.kind, options.name];
    const held = await retryLocked(() => this.#kv.get<string>(nameKey));
    if (held.value !== null) {
      const current = await this.#kv.get<TokenRecord>(["token", options.kind, held.value]);
      if (current.value !== null && !current.value.revoked) {
        throw new StoreConflictError(
          `An ${options.kind} token named "${options.name}" exists already; revoke it first or pick another name`,
        );
      }
    }
    const result = await retryLocked(() =>
      this.#kv.atomic()
        .check(held)
        .set(nameKey, record.hash)
        .set(["token", options.kind, record.hash], record)
        .commit()
    );
    if (!result.ok) {
      throw new StoreConflictError(
        `An ${options.kind} token named "${options.name}" was just created by someone else`,
      );
    }
    return { token, record };
  }

  /** Every token of `kind`, revoked ones too, oldest first. */
  async listTokens(kind: TokenKind): Promise<TokenRecord[]> {
    const records: TokenRecord[] = [];
    for await (const entry of this.#kv.list<TokenRecord>({ prefix: ["token", kind] })) {
      records.push(entry.value);
    }
    return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Revokes the live token named `name`; returns its record, or null when there is none. */
  async revokeToken(kind: TokenKind, name: string, now: number): Promise<TokenRecord | null> {
    const hash = await retryLocked(() => this.#kv.get<string>(["token_name", kind, name]));
    if (hash.value === null) return null;
    const key = ["token", kind, hash.value];
    const entry = await retryLocked(() => this.#kv.get<TokenRecord>(key));
    if (entry.value === null || entry.value.revoked) return null;
    const record: TokenRecord = { ...entry.value, revoked: true, revokedAt: iso(now) };
    await retryLocked(() => this.#kv.set(key, record));
    return record;
  }

  /** The live token record of `token`, or null when it is unknown or revoked. */
  async authenticate(kind: TokenKind, token: string, now: number): Promise<TokenRecord | null> {
    const key = ["token", kind, hashToken(token)];
    const entry = await retryLocked(() => this.#kv.get<TokenRecord>(key));
    const record = entry.value;
    if (record === null || record.revoked) return null;
    if (record.lastUsedAt === null || now - Date.parse(record.lastUsedAt) >= TOUCH_EVERY_MS) {
      const touched = { ...record, lastUsedAt: iso(now) };
      // A lost race only loses a newer lastUsedAt; a revoke in between must win.
      await retryLocked(() => this.#kv.atomic().check(entry).set(key, touched).commit());
      return touched;
    }
    return record;
  }

  /** Records `host` as the one using agent token `record` (kept for the long-poll). */
  async setTokenHost(record: TokenRecord, host: string): Promise<string | null> {
    const key = ["token", record.kind, record.hash];
    for (let attempt = 0; attempt < 10; attempt++) {
      const entry = await retryLocked(() => this.#kv.get<TokenRecord>(key));
      if (entry.value === null || entry.value.revoked) return null;
      // A token is bound to the first host it is used by; that never changes.
      if (entry.value.host !== null) return entry.value.host;
      const done = await retryLocked(() =>
        this.#kv.atomic().check(entry).set(key, { ...entry.value!, host }).commit()
      );
      if (done.ok) return host;
    }
    return null;
  }

  // ---- ingest ---------------------------------------------------------------

  /**
   * Stores one ingest: the agent's identity and clock skew, its scripts,
   * and the events not stored yet. Idempotent per seq.
   */
  async ingest(
    request: IngestRequest,
    options: { now: number; tokenName: string },
  ): Promise<IngestResult> {
    const { site, host } = request.agent;
    const agentKey = ["agent", site, host];
    const batch = new Map<number, StoredEvent>();
    for (const event of request.events) {
      if (!batch.has(event.seq)) batch.set(event.seq, toStored(site, host, event, options.now));
    }
    const scriptGroups = scriptChunks(site, host, request.scripts);
    for (let attempt = 1;; attempt++) {
      const [entry, flag] = await retryLocked(() =>
        this.#kv.getMany<[AgentRecord, string]>([agentKey, ["command_flag", site, host]])
      );
      const previous = entry.value;
      const ackedBefore = previous?.ackedSeq ?? 0;
      const aheadBefore = previous?.ahead ?? [];
      const fresh = [...batch.values()].filter((e) => !isStored(e.seq, ackedBefore, aheadBefore));
      const { acked, ahead } = addSeqs(ackedBefore, aheadBefore, fresh.map((e) => e.seq));
      // Each gap is kept in the agent record (one KV value): a bounded number of them.
      if (ahead.length > MAX_SEQ_GAPS) {
        throw new SeqGapError(
          `Events of ${site}/${host} leave ${ahead.length} gaps above seq ${acked} ` +
            `(at most ${MAX_SEQ_GAPS}): send events in seq order`,
        );
      }
      const record: AgentRecord = {
        site,
        host,
        version: request.agent.version,
        os: request.agent.os,
        pid: request.agent.pid,
        startedAt: request.agent.startedAt,
        firstSeenAt: previous?.firstSeenAt ?? iso(options.now),
        lastSeenAt: iso(options.now),
        clockSkewMs: Date.parse(request.agent.now) - options.now,
        online: true,
        offlineAt: previous?.offlineAt ?? null,
        ackedSeq: acked,
        ahead,
        dropped: request.dropped,
        tokenName: options.tokenName,
        scriptChunks: scriptGroups.length,
        scriptCount: request.scripts.length,
      };
      const stale: Deno.KvKey[] = [];
      for (let chunk = scriptGroups.length; chunk < (previous?.scriptChunks ?? 0); chunk++) {
        stale.push(["scripts", site, host, chunk]);
      }
      const final: WriteGroup = {
        checks: [{ key: agentKey, versionstamp: entry.versionstamp }],
        sets: [[agentKey, record]],
        deletes: stale,
        bytes: 2000,
      };
      const eventGroups = fresh.map(eventGroup);
      const stored = await this.#commitAll([...eventGroups, ...scriptGroups, final], final);
      if (stored !== null) {
        return {
          ackedSeq: acked,
          stored: stored,
          duplicates: batch.size - stored,
          cameOnline: previous === null || !previous.online,
          mayHaveCommands: flag.versionstamp !== null,
          agent: record,
        };
      }
      if (attempt >= MAX_ATTEMPTS) {
        throw new Error(
          `Cannot store the ingest of agent ${site}/${host}: ${MAX_ATTEMPTS} concurrent updates conflicted`,
        );
      }
    }
  }

  /**
   * Commits `groups` in as few atomics as fit; groups whose event already
   * exists are dropped. Returns how many event groups were written, or null
   * when `final`'s agent check failed (someone else updated the agent).
   */
  async #commitAll(groups: WriteGroup[], final: WriteGroup): Promise<number | null> {
    let written = 0;
    for (let batch of packGroups(groups)) {
      for (;;) {
        const ops = toAtomic(this.#kv, batch);
        const result = await retryLocked(() => ops.commit());
        if (result.ok) {
          written += batch.filter(isEventGroup).length;
          break;
        }
        if (batch.includes(final)) {
          const now = await retryLocked(() => this.#kv.get(final.checks[0].key));
          if (now.versionstamp !== final.checks[0].versionstamp) return null;
        }
        const existing = await this.#existing(batch.filter(isEventGroup).map((g) => g.sets[0][0]));
        const next = batch.filter((g) => !(isEventGroup(g) && existing.has(keyText(g.sets[0][0]))));
        if (next.length === batch.length) {
          throw new Error("Ingest atomic failed although no check should fail"); // cannot happen
        }
        batch = next;
      }
    }
    return written;
  }

  /** Which of `keys` exist (getMany, ten at a time). */
  async #existing(keys: Deno.KvKey[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < keys.length; i += 10) {
      const entries = await retryLocked(() => this.#kv.getMany(keys.slice(i, i + 10)));
      for (const entry of entries) if (entry.versionstamp !== null) found.add(keyText(entry.key));
    }
    return found;
  }

  // ---- fleet ----------------------------------------------------------------

  /** One agent, or null when it never reported. */
  async getAgent(site: string, host: string): Promise<AgentRecord | null> {
    return (await retryLocked(() => this.#kv.get<AgentRecord>(["agent", site, host]))).value;
  }

  /** Every agent (of `site` when given), by site then host. */
  async listAgents(options: { site?: string } = {}): Promise<AgentRecord[]> {
    const prefix = options.site === undefined ? ["agent"] : ["agent", options.site];
    const agents: AgentRecord[] = [];
    for await (const entry of this.#kv.list<AgentRecord>({ prefix }, { batchSize: 500 })) {
      agents.push(entry.value);
    }
    return agents;
  }

  /** The scripts of one agent's last heartbeat, or null when the agent is unknown. */
  async getScripts(site: string, host: string): Promise<ScriptSummary[] | null> {
    const agent = await this.getAgent(site, host);
    if (agent === null) return null;
    const scripts: ScriptSummary[] = [];
    for await (
      const entry of this.#kv.list<ScriptSummary[]>({ prefix: ["scripts", site, host] })
    ) {
      if ((entry.key[3] as number) < agent.scriptChunks) scripts.push(...entry.value);
    }
    return scripts;
  }

  /** Every agent (of `site` when given) with its scripts, by site then host. */
  async listScripts(options: { site?: string } = {}): Promise<AgentScripts[]> {
    const suffix = options.site === undefined ? [] : [options.site];
    const [agents, chunks] = await Promise.all([
      this.listAgents(options),
      (async () => {
        const byAgent = new Map<string, ScriptSummary[][]>();
        const list = this.#kv.list<ScriptSummary[]>({ prefix: ["scripts", ...suffix] }, {
          batchSize: 500,
        });
        for await (const entry of list) {
          const id = `${entry.key[1] as string}\0${entry.key[2] as string}`;
          const parts = byAgent.get(id) ?? [];
          parts[entry.key[3] as number] = entry.value;
          byAgent.set(id, parts);
        }
        return byAgent;
      })(),
    ]);
    return agents.map((agent) => ({
      agent,
      scripts: (chunks.get(`${agent.site}\0${agent.host}`) ?? [])
        .slice(0, agent.scriptChunks)
        .flatMap((part) => part ?? []),
    }));
  }

  /**
   * Marks offline every online agent not seen for `offlineAfterMs`; returns
   * those it marked (an agent that reported meanwhile is left alone).
   */
  async markOffline(now: number, offlineAfterMs: number): Promise<AgentRecord[]> {
    const marked: AgentRecord[] = [];
    for await (
      const entry of this.#kv.list<AgentRecord>({ prefix: ["agent"] }, { batchSize: 500 })
    ) {
      const agent = entry.value;
      if (!agent.online || now - Date.parse(agent.lastSeenAt) < offlineAfterMs) continue;
      const offline: AgentRecord = { ...agent, online: false, offlineAt: iso(now) };
      const result = await retryLocked(() =>
        this.#kv.atomic().check(entry).set(entry.key, offline).commit()
      );
      if (result.ok) marked.push(offline);
    }
    return marked;
  }

  // ---- events ---------------------------------------------------------------

  /** Events newest first (by their `at`), filtered, one page at a time. */
  async listEvents(query: EventQuery): Promise<EventPage> {
    const selector: Deno.KvListSelector = query.since === undefined && query.until === undefined
      ? { prefix: ["event_time"] }
      : {
        start: ["event_time", query.since ?? 0],
        end: ["event_time", query.until ?? Number.MAX_SAFE_INTEGER],
      };
    const list = this.#kv.list<StoredEvent>(selector, {
      reverse: true,
      batchSize: Math.min(500, query.limit + 1),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
    });
    const events: StoredEvent[] = [];
    let scanned = 0;
    for await (const entry of list) {
      const event = entry.value;
      if (
        (query.site === undefined || event.site === query.site) &&
        (query.host === undefined || event.host === query.host) &&
        (query.kind === undefined || event.kind === query.kind)
      ) {
        events.push(event);
      }
      if (events.length >= query.limit || ++scanned >= SCAN_BUDGET) {
        return { events, cursor: list.cursor };
      }
    }
    return { events, cursor: null };
  }

  /** One agent's event by seq, or null. */
  async getEvent(site: string, host: string, seq: number): Promise<StoredEvent | null> {
    return (await retryLocked(() => this.#kv.get<StoredEvent>(["event", site, host, seq]))).value;
  }

  /** Deletes events whose `at` is before `before` (ms); returns how many. */
  async purgeEvents(before: number): Promise<number> {
    let purged = 0;
    const list = this.#kv.list<StoredEvent>({
      start: ["event_time", 0],
      end: ["event_time", before],
    });
    let op = this.#kv.atomic();
    let pending = 0;
    for await (const entry of list) {
      const e = entry.value;
      op.delete(entry.key).delete(["event", e.site, e.host, e.seq]);
      if (++pending === 400) {
        const full = op;
        await retryLocked(() => full.commit());
        purged += pending;
        op = this.#kv.atomic();
        pending = 0;
      }
    }
    if (pending > 0) {
      const last = op;
      await retryLocked(() => last.commit());
    }
    return purged + pending;
  }

  // ---- alerts ---------------------------------------------------------------

  /** Records `alert` as firing; when its key is firing already, returns that record unchanged. */
  async openAlert(alert: NewAlert): Promise<AlertRecord> {
    const openKey = ["alert_open", alert.key];
    for (;;) {
      const open = await retryLocked(() => this.#kv.get<string>(openKey));
      if (open.value !== null) {
        const found = await retryLocked(() => this.#kv.get<AlertRecord>(["alert", open.value!]));
        if (found.value !== null) return found.value;
      }
      const record: AlertRecord = {
        id: this.#newId("alert", Date.parse(alert.firedAt)),
        ...alert,
        resolvedAt: null,
        acknowledgedBy: null,
        acknowledgedAt: null,
      };
      const result = await retryLocked(() =>
        this.#kv.atomic().check(open).set(openKey, record.id).set(["alert", record.id], record)
          .commit()
      );
      if (result.ok) return record;
    }
  }

  /** Marks the firing record of `key` resolved at `resolvedAt` (ISO); null when none fires. */
  async resolveAlert(key: string, resolvedAt: string): Promise<AlertRecord | null> {
    const openKey = ["alert_open", key];
    for (;;) {
      const open = await retryLocked(() => this.#kv.get<string>(openKey));
      if (open.value === null) return null;
      const entry = await retryLocked(() => this.#kv.get<AlertRecord>(["alert", open.value!]));
      const op = this.#kv.atomic().check(open).check(entry).delete(openKey);
      const record = entry.value === null ? null : { ...entry.value, resolvedAt };
      if (record !== null) op.set(entry.key, record);
      if ((await retryLocked(() => op.commit())).ok) return record;
    }
  }

  /** Alert records, newest first, filtered by state (firing: not resolved) and site. */
  async listAlerts(
    options: { state?: "firing" | "resolved"; site?: string } = {},
  ): Promise<AlertRecord[]> {
    const out: AlertRecord[] = [];
    const list = this.#kv.list<AlertRecord>({ prefix: ["alert"] }, {
      reverse: true,
      batchSize: 500,
    });
    for await (const { value } of list) {
      if (options.site !== undefined && value.site !== options.site) continue;
      if (options.state === "firing" && value.resolvedAt !== null) continue;
      if (options.state === "resolved" && value.resolvedAt === null) continue;
      out.push(value);
    }
    return out;
  }

  /** Records who acknowledged alert `id`; null when there is no such alert. */
  async ackAlert(id: string, options: { by: string; now: number }): Promise<AlertRecord | null> {
    for (;;) {
      const entry = await retryLocked(() => this.#kv.get<AlertRecord>(["alert", id]));
      if (entry.value === null) return null;
      const record: AlertRecord = {
        ...entry.value,
        acknowledgedBy: options.by,
        acknowledgedAt: iso(options.now),
      };
      const result = await retryLocked(() =>
        this.#kv.atomic().check(entry).set(entry.key, record).commit()
      );
      if (result.ok) return record;
    }
  }

  /** `<prefix>-<stamp>-<random>`: ids sort by time, the stamp never repeats within this process. */
  #newId(prefix: string, now: number): string {
    const random = Array.from(
      crypto.getRandomValues(new Uint8Array(5)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    const stamp = this.#lastStamp = Math.max(now, this.#lastStamp + 1);
    return `${prefix}-${stamp.toString(36).padStart(9, "0")}-${random}`;
  }

  // ---- commands -------------------------------------------------------------

  /** Calls `listener` after every queued command; returns the function that stops it. */
  onCommandQueued(listener: (command: CommandRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Queues a command for one agent, pending until acked or `ttlMs` passes. */
  async queueCommand(options: QueueCommandOptions): Promise<CommandRecord> {
    const random = Array.from(
      crypto.getRandomValues(new Uint8Array(5)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    // Ids sort in queue order: the stamp never repeats within this process.
    const stamp = this.#lastStamp = Math.max(options.now, this.#lastStamp + 1);
    const id = `cmd-${stamp.toString(36).padStart(9, "0")}-${random}`;
    const command: CommandRecord = {
      id,
      action: options.action,
      script: options.script,
      expiresAt: iso(options.now + options.ttlMs),
      requestedBy: options.requestedBy,
      site: options.site,
      host: options.host,
      createdAt: iso(options.now),
      state: "pending",
      result: null,
    };
    await retryLocked(() =>
      this.#kv.atomic()
        .set(["command", options.site, options.host, id], command)
        .set(["command_pending", options.site, options.host, id], id)
        .set(["command_flag", options.site, options.host], id)
        .commit()
    );
    for (const listener of this.#listeners) listener(command);
    return command;
  }

  /** One command, or null. */
  async getCommand(site: string, host: string, id: string): Promise<CommandRecord | null> {
    return (await retryLocked(() => this.#kv.get<CommandRecord>(["command", site, host, id])))
      .value;
  }

  /** An agent's pending commands not expired at `now`, oldest first; expired ones are marked so. */
  async pendingCommands(site: string, host: string, now: number): Promise<CommandRecord[]> {
    const flagKey = ["command_flag", site, host];
    const flag = await retryLocked(() => this.#kv.get<string>(flagKey));
    const ids: string[] = [];
    for await (const entry of this.#kv.list<string>({ prefix: ["command_pending", site, host] })) {
      ids.push(entry.value);
    }
    const pending: CommandRecord[] = [];
    for (let i = 0; i < ids.length; i += 10) {
      const keys = ids.slice(i, i + 10).map((id) => ["command", site, host, id]);
      for (const entry of await this.#kv.getMany<CommandRecord[]>(keys)) {
        const command = entry.value;
        if (command === null || command.state !== "pending") continue;
        if (Date.parse(command.expiresAt) > now) {
          pending.push(command);
          continue;
        }
        await retryLocked(() =>
          this.#kv.atomic()
            .check(entry)
            .set(entry.key, { ...command, state: "expired" })
            .delete(["command_pending", site, host, command.id])
            .commit()
        );
      }
    }
    if (pending.length === 0 && flag.versionstamp !== null) {
      // Nothing pending: lower the flag unless a command was queued meanwhile.
      await retryLocked(() => this.#kv.atomic().check(flag).delete(flagKey).commit());
    }
    return pending;
  }

  /** Records the agent's acks; returns the commands they completed (unknown ids are skipped). */
  async ackCommands(
    site: string,
    host: string,
    acks: readonly CommandAck[],
  ): Promise<CommandRecord[]> {
    const done: CommandRecord[] = [];
    for (const ack of acks) {
      const key = ["command", site, host, ack.id];
      const entry = await retryLocked(() => this.#kv.get<CommandRecord>(key));
      if (entry.value === null || entry.value.state === "done") continue;
      const command: CommandRecord = {
        ...entry.value,
        state: "done",
        result: { ok: ack.ok, message: ack.message, at: ack.at },
      };
      const result = await retryLocked(() =>
        this.#kv.atomic()
          .check(entry)
          .set(key, command)
          .delete(["command_pending", site, host, ack.id])
          .commit()
      );
      if (result.ok) done.push(command);
    }
    return done;
  }
}

function toStored(
  site: string,
  host: string,
  event: IngestRequest["events"][number],
  now: number,
): StoredEvent {
  const stored: StoredEvent = {
    site,
    host,
    seq: event.seq,
    at: new Date(Date.parse(event.at)).toISOString(),
    kind: event.kind,
    ...(event.script === undefined ? {} : { script: event.script }),
    data: event.data,
    receivedAt: iso(now),
  };
  const size = JSON.stringify(event.data).length;
  return size > MAX_VALUE_CHARS ? { ...stored, data: { truncated: true, size } } : stored;
}

function eventGroup(event: StoredEvent): WriteGroup {
  const key = ["event", event.site, event.host, event.seq];
  return {
    checks: [{ key, versionstamp: null }],
    sets: [[key, event], [
      ["event_time", Date.parse(event.at), event.site, event.host, event.seq],
      event,
    ]],
    deletes: [],
    bytes: 2 * (JSON.stringify(event).length + 200),
  };
}

function isEventGroup(group: WriteGroup): boolean {
  return group.checks.length === 1 && group.checks[0].key[0] === "event";
}

/** The script list in values of at most MAX_VALUE_CHARS of JSON each. */
function scriptChunks(site: string, host: string, scripts: ScriptSummary[]): WriteGroup[] {
  const groups: WriteGroup[] = [];
  let chunk: ScriptSummary[] = [];
  let chars = 0;
  const flush = () => {
    groups.push({
      checks: [],
      sets: [[["scripts", site, host, groups.length], chunk]],
      deletes: [],
      bytes: chars + 200,
    });
    chunk = [];
    chars = 0;
  };
  for (const original of scripts) {
    const script = fitScript(original);
    const size = JSON.stringify(script).length;
    if (chunk.length > 0 && chars + size > MAX_VALUE_CHARS) flush();
    chunk.push(script);
    chars += size;
  }
  if (chunk.length > 0) flush();
  return groups;
}

/** A script whose checks alone overflow one KV value keeps them with short reasons. */
function fitScript(script: ScriptSummary): ScriptSummary {
  if (JSON.stringify(script).length <= MAX_VALUE_CHARS) return script;
  return {
    ...script,
    reason: script.reason === null ? null : script.reason.slice(0, 200),
    checks: script.checks.map((check) => ({ ...check, reason: check.reason.slice(0, 100) })),
  };
}

function keyText(key: Deno.KvKey): string {
  return JSON.stringify(key);
}
