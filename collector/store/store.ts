/**
 * All of the collector's storage, behind one class. The only backend is
 * Deno KV (the handle is passed in; `main` opens the file). Keys:
 *
 * - tokens: see `tokens.ts` (`["token", kind, hash]`, `["token_name", kind, name]`)
 * - `["agent", site, host]` → {@linkcode AgentRecord}
 * - `["scripts", site, host, chunk]` → the last heartbeat's scripts, split to fit KV values (a
 *   change of running numbers alone is written at 30 s checkpoints: `scriptListWrites`)
 * - `["tokens", site, host]` → the tokens of its last heartbeat that had any (never their values)
 * - `["event", site, host, seq]` and `["event_time", atMs, site, host, seq]` → {@linkcode StoredEvent}
 * - transitions, presence, resource samples, daily rollups: see `history.ts`
 * - commands: see `commands.ts` (ingest reads the agent's `["command_flag", site, host]`)
 * - alerts: see `alerts.ts`
 *
 * Ingest is one atomic where it fits one (all but the largest on a KV file),
 * checked against the agent record this process last wrote (read first only
 * when it has none, or the check failed): a seq at or below the agent's
 * `ackedSeq`, or in its stored ranges above it, is a replay and skipped
 * without a read, and while the record is unchanged no other seq can have
 * been stored meanwhile. An ingest too large for one atomic sets its events in
 * several, each with a non-existence check, the record last
 * (`_ingest_commit.ts`). Concurrent ingests share commits (`_group_commit.ts`).
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv/handle.ts";
import type { IngestRequest, ScriptSummary, TokenSummary } from "../../shared/protocol.ts";
import { type WriteGroup } from "./_atomic_batches.ts";
import { commitIngest } from "./_ingest_commit.ts";
import { GroupCommit, type GroupCommitStats } from "./_group_commit.ts";
import { PerKeyQueue } from "./_per_key.ts";
import { retryLocked } from "./kv_retry.ts";
import { addSeqs, isStored } from "./_seq_ranges.ts";
import {
  eventGroup,
  fitTokens,
  MAX_VALUE_CHARS,
  sampleRows,
  scriptListWrites,
  scriptsAsOfLastSeen,
  toStored,
} from "./_writes.ts";
import { HistoryStore, SAMPLE_EVERY_MS } from "./history.ts";
import { dayTablesOf } from "./capabilities.ts";
import { AlertStore } from "./alerts.ts";
import { CommandStore } from "./commands.ts";
import { TokenStore } from "./tokens.ts";
import type {
  AgentRecord,
  AgentScripts,
  AgentTokens,
  CreateTokenOptions,
  EventPage,
  EventQuery,
  IngestOptions,
  IngestResult,
  StoredEvent,
  TokenKind,
  TokenRecord,
} from "./types.ts";

/** A listing stops after reading this many entries and hands back a cursor. */
const SCAN_BUDGET = 20_000;
/** Ingest gives up after this many conflicting concurrent writes of one agent. */
const MAX_ATTEMPTS = 20;

const iso = (ms: number) => new Date(ms).toISOString();

/** The script chunks `list` yields, by agent (`site\0host`), each agent's by chunk number. */
async function chunksByAgent(
  list: AsyncIterable<Deno.KvEntry<ScriptSummary[]>>,
): Promise<Map<string, ScriptSummary[][]>> {
  const byAgent = new Map<string, ScriptSummary[][]>();
  for await (const entry of list) {
    const id = `${entry.key[1] as string}\0${entry.key[2] as string}`;
    const parts = byAgent.get(id) ?? [];
    parts[entry.key[3] as number] = entry.value;
    byAgent.set(id, parts);
  }
  return byAgent;
}

/** An agent's script list from the chunks read (by chunk number), as of its last heartbeat. */
function joinChunks(agent: AgentRecord, parts: ScriptSummary[][] = []): ScriptSummary[] {
  return scriptsAsOfLastSeen(
    agent,
    parts.slice(0, agent.scriptChunks).flatMap((part) => part ?? []),
  );
}

/** An ingest would leave more gaps in an agent's seqs than the store keeps track of. */
export class SeqGapError extends RangeError {
  override name = "SeqGapError";
}

/** Gaps (ranges of stored seqs above the contiguous ack) kept per agent. */
export const MAX_SEQ_GAPS = 64;

/** The collector's storage: tokens, agents, scripts, events, commands, alerts. */
export class Store {
  #kv: KvHandle;
  /** Alert records (fired, resolved, acknowledged). */
  readonly alerts: AlertStore;
  /** Remote commands per agent. */
  readonly commands: CommandStore;
  /** State changes, presence, resource samples and daily rollups (uptime and charts). */
  readonly history: HistoryStore;
  #tokens: TokenStore;
  #lastStamp = 0;
  #groupCommit: GroupCommit;
  #byAgent = new PerKeyQueue();
  /** Each agent's record as last stored here: an ingest commits against it, unread. */
  #agentRecords = new Map<string, Deno.KvEntry<AgentRecord>>();

  /** Uses `kv`; the caller opens and closes it. */
  constructor(kv: KvHandle) {
    this.#kv = kv;
    this.alerts = new AlertStore(kv, (now) => this.#newId("alert", now));
    this.commands = new CommandStore(kv, (now) => this.#newId("cmd", now));
    this.history = new HistoryStore(kv);
    this.#tokens = new TokenStore(kv);
    this.#groupCommit = new GroupCommit(kv);
  }

  /** How many ingest batches shared how many commits so far (group commit). */
  get commitStats(): GroupCommitStats {
    return this.#groupCommit.stats;
  }

  /** The KV handle, shared with the site leases and dedupe claims (`leases.ts`, `site_dedupe.ts`). */
  get kv(): KvHandle {
    return this.#kv;
  }

  // ---- tokens: see tokens.ts ---------------------------------------------

  /**
   * Creates a token and returns it (shown once) with its record.
   *
   * @throws {StoreConflictError} when a live token of `kind` has `name`.
   */
  createToken(options: CreateTokenOptions): Promise<{ token: string; record: TokenRecord }> {
    return this.#tokens.create(options);
  }

  /** Every token of `kind`, revoked ones too, oldest first. */
  listTokens(kind: TokenKind): Promise<TokenRecord[]> {
    return this.#tokens.list(kind);
  }

  /** Revokes the live token named `name`; returns its record, or null when there is none. */
  revokeToken(kind: TokenKind, name: string, now: number): Promise<TokenRecord | null> {
    return this.#tokens.revoke(kind, name, now);
  }

  /** The live token record of `token`, or null when it is unknown or revoked. */
  authenticate(kind: TokenKind, token: string, now: number): Promise<TokenRecord | null> {
    return this.#tokens.authenticate(kind, token, now);
  }

  /** Writes the tokens' uses noted since the last call (`lastUsedAt`); returns how many. */
  flushTokenUses(): Promise<number> {
    return this.#tokens.flushTouches();
  }

  /** Records `host` as the one using agent token `record` (kept for the long-poll). */
  setTokenHost(record: TokenRecord, host: string): Promise<string | null> {
    return this.#tokens.bindHost(record, host);
  }

  // ---- ingest ---------------------------------------------------------------

  /**
   * Stores one ingest: the agent's identity and clock skew, its scripts, and the events not
   * stored yet. Idempotent per seq. One agent's ingests go one after another: each commits
   * against the record the last one wrote (at once, 16 of them could conflict 20 times over).
   */
  ingest(request: IngestRequest, options: IngestOptions): Promise<IngestResult> {
    const { site, host } = request.agent;
    return this.#byAgent.run(`${site}\0${host}`, () => this.#ingest(request, options));
  }

  async #ingest(request: IngestRequest, options: IngestOptions): Promise<IngestResult> {
    const { site, host } = request.agent;
    const agentKey = ["agent", site, host];
    const batch = new Map<number, StoredEvent>();
    for (const event of request.events) {
      if (!batch.has(event.seq)) batch.set(event.seq, toStored(site, host, event, options.now));
    }
    const flagKey = ["command_flag", site, host];
    const cacheKey = `${site}\0${host}`;
    for (let attempt = 1;; attempt++) {
      // The record this process last wrote, if the commit's checks still find it unchanged and
      // no command flag set (else they fail and the next attempt reads both).
      const cached = attempt === 1 ? this.#agentRecords.get(cacheKey) : undefined;
      const [entry, flag] = cached !== undefined
        ? [cached, { versionstamp: null }]
        : await retryLocked(() => this.#kv.getMany<[AgentRecord, string]>([agentKey, flagKey]));
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
      const list = scriptListWrites(site, host, request.scripts, previous, options.now);
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
        ...(options.environment === undefined ? {} : { environment: options.environment }),
        scriptChunks: list.chunks,
        scriptCount: request.scripts.length,
        scriptsAt: list.at,
        scriptsDigest: list.digest,
        sampledAt: previous?.sampledAt ?? 0,
      };
      const final: WriteGroup = {
        checks: [
          { key: agentKey, versionstamp: entry.versionstamp },
          ...(cached === undefined ? [] : [{ key: flagKey, versionstamp: null }]),
        ],
        sets: [[agentKey, record]],
        deletes: list.stale,
        bytes: 2000,
      };
      const cameOnline = previous === null || !previous.online;
      if (cameOnline) {
        final.sets.push([["presence", site, host, options.now], { at: options.now, online: true }]);
      }
      // An agent without tokens support sends none: its last list is kept. An empty list is
      // an agent whose tokens were all taken out of its config.
      if (request.tokens !== undefined && request.tokens.length === 0) {
        final.deletes.push(["tokens", site, host]);
      } else if (request.tokens !== undefined) {
        final.sets.push([["tokens", site, host], fitTokens(request.tokens)]);
        final.bytes += MAX_VALUE_CHARS;
      }
      if (options.now - (previous?.sampledAt ?? 0) >= SAMPLE_EVERY_MS) {
        record.sampledAt = options.now;
        final.sets.push([["sample", site, host, options.now], sampleRows(request.scripts)]);
        final.bytes += MAX_VALUE_CHARS;
      }
      const committed = await commitIngest(
        this.#kv,
        this.#groupCommit,
        [...fresh.map(eventGroup), ...list.groups, final],
        final,
        fresh.length,
      );
      if (committed === null) this.#agentRecords.delete(cacheKey);
      else {
        // Frozen: the result hands out the same object, and the next ingest builds on it.
        this.#agentRecords.set(cacheKey, {
          key: agentKey,
          value: Object.freeze(record),
          versionstamp: committed.versionstamp,
        });
        const { stored } = committed;
        for (const e of fresh) {
          if (e.kind === "state" && e.script !== undefined) {
            this.history.changes.noteScript(site, host, e.script, Date.parse(e.at));
          }
        }
        if (cameOnline) this.history.changes.noteAgent(site, host);
        return {
          ackedSeq: acked,
          stored,
          duplicates: batch.size - stored,
          cameOnline,
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
    const parts: ScriptSummary[][] = [];
    for await (
      const entry of this.#kv.list<ScriptSummary[]>({ prefix: ["scripts", site, host] })
    ) parts[entry.key[3] as number] = entry.value;
    return joinChunks(agent, parts);
  }

  /** Every agent (of `site` when given) with its scripts, by site then host. */
  async listScripts(options: { site?: string } = {}): Promise<AgentScripts[]> {
    const suffix = options.site === undefined ? [] : [options.site];
    const [agents, chunks] = await Promise.all([
      this.listAgents(options),
      // Pages of 100 chunks (1,000 scripts): a page is decoded at once, and one of 500 held the
      // requests up for tens of milliseconds.
      chunksByAgent(
        this.#kv.list<ScriptSummary[]>({ prefix: ["scripts", ...suffix] }, { batchSize: 100 }),
      ),
    ]);
    return agents.map((agent) => ({
      agent,
      scripts: joinChunks(agent, chunks.get(`${agent.site}\0${agent.host}`)),
    }));
  }

  /**
   * Up to `limit` agents (of `site` when given) with their scripts, by site then host, starting
   * at agent `from` (included) when given: a page of {@linkcode Store.listScripts}.
   */
  async pageScripts(
    options: { site?: string; from?: { site: string; host: string }; limit: number },
  ): Promise<AgentScripts[]> {
    const prefix = options.site === undefined ? ["agent"] : ["agent", options.site];
    const selector: Deno.KvListSelector = options.from === undefined
      ? { prefix }
      : { prefix, start: ["agent", options.from.site, options.from.host] };
    const agents: AgentRecord[] = [];
    for await (
      const entry of this.#kv.list<AgentRecord>(selector, {
        limit: options.limit,
        batchSize: Math.min(500, options.limit),
      })
    ) agents.push(entry.value);
    if (agents.length === 0) return [];
    const first = agents[0];
    const last = agents.at(-1)!;
    const byAgent = await chunksByAgent(this.#kv.list<ScriptSummary[]>({
      start: ["scripts", first.site, first.host],
      end: ["scripts", last.site, last.host, Infinity],
    }, { batchSize: 500 }));
    return agents.map((agent) => ({
      agent,
      scripts: joinChunks(agent, byAgent.get(`${agent.site}\0${agent.host}`)),
    }));
  }

  /** The tokens each agent (of `site` when given) last reported, by site then host. */
  async agentTokens(options: { site?: string } = {}): Promise<AgentTokens[]> {
    const prefix = options.site === undefined ? ["tokens"] : ["tokens", options.site];
    const out: AgentTokens[] = [];
    for await (const entry of this.#kv.list<TokenSummary[]>({ prefix }, { batchSize: 500 })) {
      out.push({ site: entry.key[1] as string, host: entry.key[2] as string, tokens: entry.value });
    }
    return out;
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
      // Its scripts' state is unknown from the last time it was heard.
      const silentSince = Date.parse(agent.lastSeenAt);
      const result = await retryLocked(() =>
        this.#kv.atomic()
          .check(entry)
          .set(entry.key, offline)
          .set(["presence", agent.site, agent.host, silentSince], {
            at: silentSince,
            online: false,
          })
          .commit()
      );
      if (result.ok) {
        marked.push(offline);
        this.history.changes.noteAgent(agent.site, agent.host);
      }
    }
    return marked;
  }

  // ---- events ---------------------------------------------------------------

  /** Events newest first (by their `at`), filtered, one page at a time. */
  async listEvents(query: EventQuery): Promise<EventPage> {
    // An empty window (until at or before since) has no events; KV refuses such a range.
    if ((query.until ?? Infinity) <= (query.since ?? 0)) return { events: [], cursor: null };
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
        (query.sites === undefined || query.sites.includes(event.site)) &&
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

  /**
   * Deletes events whose `at` is before `before` (ms); returns how many. A store with day
   * tables drops whole days instead: an event goes with the first purge after its day ends
   * past `before`.
   */
  async purgeEvents(before: number): Promise<number> {
    const tables = dayTablesOf(this.#kv);
    if (tables !== null) {
      return (await tables.dropBefore("events", before, { count: "event_time" })).records;
    }
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
        await retryLocked(() => op.commit());
        purged += pending;
        op = this.#kv.atomic();
        pending = 0;
      }
    }
    if (pending > 0) await retryLocked(() => op.commit());
    return purged + pending;
  }

  /** `<prefix>-<stamp>-<random>`: ids sort by time, the stamp never repeats within this process. */
  #newId(prefix: string, now: number): string {
    const random = crypto.getRandomValues(new Uint8Array(5)).toHex();
    const stamp = this.#lastStamp = Math.max(now, this.#lastStamp + 1);
    return `${prefix}-${stamp.toString(36).padStart(9, "0")}-${random}`;
  }
}
