/**
 * The outbox's records in Deno KV: keys, ids, and the atomic commits that
 * claim a dedupe key and move a message from one state to the next. Every
 * change is one atomic commit guarded by the record's versionstamp, so
 * several processes sharing the KV file never step on each other.
 *
 * Keys (all under "outbox"):
 * - ["msg", id]            the record, without its payload (small, rewritten on every change)
 * - ["payload", id]        the payload as UTF-8 JSON bytes (written once)
 * - ["queue", channel, id] a pending message (queued, sending, retrying), in delivery order
 * - ["state", state, id]   every message by state, for list({ state })
 * - ["count", state]       a KvU64 counter per state, for counts()
 * - ["dedupe", key]        { id, at } of the message that claimed the key
 */
import type { KvHandle } from "../kv/handle.ts";
import { redact } from "../redact.ts";
import {
  MESSAGE_STATES,
  type MessageEvent,
  type MessageRecord,
  type MessageState,
  type Payload,
} from "./types.ts";

/** A message record as kept in KV: everything but the payload. */
export type StoredRecord = Omit<MessageRecord, "payload">;

/** A stored record with the versionstamp it was read (or written) at. */
export interface VersionedRecord {
  record: StoredRecord;
  versionstamp: string;
}

/** All message states, for counts(). */
export const ALL_STATES: readonly MessageState[] = MESSAGE_STATES;

/** States a message does not leave. */
export const FINAL_STATES: ReadonlySet<MessageState> = new Set<MessageState>([
  "sent",
  "failed",
  "dead-lettered",
  "uncertain",
  "duplicate",
  "silenced",
]);

/** Final states a message is pruned from after the history period (not "uncertain"). */
const PRUNED_STATES: readonly MessageState[] = [...FINAL_STATES].filter((s) => s !== "uncertain");

const P = "outbox";
/** The KV keys of the outbox. */
export const keys = {
  msg: (id: string): Deno.KvKey => [P, "msg", id],
  msgs: (): Deno.KvKey => [P, "msg"],
  payload: (id: string): Deno.KvKey => [P, "payload", id],
  queue: (channel: string, id: string): Deno.KvKey => [P, "queue", channel, id],
  queues: (channel?: string): Deno.KvKey =>
    channel === undefined ? [P, "queue"] : [P, "queue", channel],
  state: (state: MessageState, id: string): Deno.KvKey => [P, "state", state, id],
  states: (state: MessageState): Deno.KvKey => [P, "state", state],
  count: (state: MessageState): Deno.KvKey => [P, "count", state],
  dedupe: (key: string): Deno.KvKey => [P, "dedupe", key],
};

/** Bytes a stored payload may take (a KV value holds at most 64 KiB). */
export const MAX_PAYLOAD_BYTES = 65_000;
/** History entries kept per message. */
const HISTORY_KEEP = 20;
/** Characters kept of one history note. */
const NOTE_MAX = 300;
/** Dedupe keys longer than this (UTF-8 bytes) are hashed: a KV key holds at most 2048 B. */
const DEDUPE_KEY_MAX = 512;
const MINUS_ONE = new Deno.KvU64(0xffff_ffff_ffff_ffffn);
const PLUS_ONE = new Deno.KvU64(1n);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Cuts `text` to at most `max` characters, marking the cut. */
export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The dedupe key as stored: itself, or "sha256:<hex>" when longer than 512 bytes. */
export async function storedDedupeKey(key: string): Promise<string> {
  const bytes = encoder.encode(key);
  if (bytes.length <= DEDUPE_KEY_MAX) return key;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return `sha256:${Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Encodes a payload for KV. */
export function encodePayload(payload: Payload): Uint8Array {
  return encoder.encode(JSON.stringify(payload));
}

/** Decodes a payload stored by encodePayload. */
export function decodePayload(bytes: Uint8Array): Payload {
  return JSON.parse(decoder.decode(bytes)) as Payload;
}

/**
 * Time-ordered message ids: a zero-padded ms timestamp, a sequence number
 * that keeps ids made within one millisecond in order, and a random suffix
 * that keeps ids from different processes apart.
 */
export class IdSource {
  #lastMs = 0;
  #seq = 0;

  /** A new id for a message created at `nowMs`. */
  next(nowMs: number): string {
    if (nowMs > this.#lastMs) {
      this.#lastMs = nowMs;
      this.#seq = 0;
    } else {
      this.#seq++;
    }
    const random = Array.from(
      crypto.getRandomValues(new Uint8Array(4)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    return `${idTime(this.#lastMs)}-${String(this.#seq).padStart(6, "0")}-${random}`;
  }
}

/** The id prefix of messages created at `ms`: ids compare like their creation times. */
export function idTime(ms: number): string {
  return String(Math.max(0, Math.floor(ms))).padStart(15, "0");
}

function isLocked(error: unknown): boolean {
  return error instanceof Error && /database is locked/i.test(error.message);
}

/**
 * Runs `fn`, again when it throws "database is locked" (another process
 * holds the KV file for a moment): up to 60 tries, about 3 s in all.
 */
export async function retryLocked<T>(what: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isLocked(error) || attempt >= 60) {
        if (!isLocked(error)) throw error;
        throw new Error(`Cannot ${what}: the KV store stayed locked for ${attempt} tries`, {
          cause: error,
        });
      }
      await new Promise((r) => setTimeout(r, Math.min(50, 5 * attempt)));
    }
  }
}

/** A new history entry appended, keeping the last 20. */
function appendHistory(history: MessageEvent[], event: MessageEvent): MessageEvent[] {
  const next = [...history, event];
  return next.length > HISTORY_KEEP ? next.slice(next.length - HISTORY_KEEP) : next;
}

/** What a new message is. */
export interface NewMessage {
  id: string;
  channel: string;
  /** The dedupe key as given (the record keeps it). */
  dedupeKey: string;
  /** The dedupe key as stored (hashed when long). */
  claimKey: string;
  payload: Uint8Array;
  state: "queued" | "silenced" | "duplicate";
  note?: string;
  /** A claim older than this is void; undefined: claims last forever. */
  windowMs?: number;
  /** When true, the dedupe key is neither checked nor claimed. */
  unclaimed: boolean;
  nowMs: number;
}

/** The outbox's reads and atomic writes on one KV handle. */
export class OutboxStore {
  #kv: KvHandle;
  #fence: (op: Deno.AtomicOperation) => Deno.AtomicOperation;

  /** Works on `kv`; opens nothing. State changes carry `fence`'s check when given. */
  constructor(kv: KvHandle, fence?: (op: Deno.AtomicOperation) => Deno.AtomicOperation) {
    this.#kv = kv;
    this.#fence = fence ?? ((op) => op);
  }

  /**
   * Claims the dedupe key and writes the message, its payload and its
   * indexes in one commit. Answers the id of the message holding the key
   * when it is already claimed (within the window).
   */
  async claim(m: NewMessage): Promise<{ id: string; duplicate: boolean }> {
    const at = new Date(m.nowMs).toISOString();
    const record: StoredRecord = {
      id: m.id,
      channel: m.channel,
      dedupeKey: m.dedupeKey,
      state: m.state,
      createdAt: at,
      updatedAt: at,
      attempts: 0,
      history: [{ at, state: m.state, ...(m.note ? { note: cut(redact(m.note), NOTE_MAX) } : {}) }],
    };
    const dedupeKey = keys.dedupe(m.claimKey);
    for (let round = 1;; round++) {
      const op = this.#kv.atomic();
      if (!m.unclaimed) {
        const held = await retryLocked(
          "read a dedupe key",
          () => this.#kv.get<{ id: string; at: number }>(dedupeKey),
        );
        if (held.value && (m.windowMs === undefined || m.nowMs - held.value.at < m.windowMs)) {
          return { id: held.value.id, duplicate: true };
        }
        op.check({ key: dedupeKey, versionstamp: held.versionstamp })
          .set(dedupeKey, { id: m.id, at: m.nowMs }, m.windowMs ? { expireIn: m.windowMs } : {});
      }
      op.set(keys.msg(m.id), record)
        .set(keys.payload(m.id), m.payload)
        .set(keys.state(m.state, m.id), null)
        .sum(keys.count(m.state), 1n);
      if (m.state === "queued") op.set(keys.queue(m.channel, m.id), null);
      const result = await retryLocked("queue a message", () => op.commit());
      if (result.ok) return { id: m.id, duplicate: false };
      // Another process claimed the key between the read and the commit: read it again.
      if (round >= 20) {
        throw new Error(`Cannot claim dedupe key "${cut(m.dedupeKey, 80)}": lost 20 races`);
      }
    }
  }

  /**
   * Moves a message to `state`, appending to its history; a final state
   * also leaves the queue. Answers null when the record changed since it
   * was read (the caller reads it again).
   */
  async transition(
    current: VersionedRecord,
    change: { state: MessageState; note?: string; nowMs: number; patch?: Partial<StoredRecord> },
  ): Promise<VersionedRecord | null> {
    const old = current.record;
    const at = new Date(change.nowMs).toISOString();
    const event: MessageEvent = {
      at,
      state: change.state,
      ...(change.note ? { note: cut(redact(change.note), NOTE_MAX) } : {}),
    };
    const record: StoredRecord = {
      ...old,
      ...change.patch,
      state: change.state,
      updatedAt: at,
      history: appendHistory(old.history, event),
    };
    if (change.state !== "retrying") delete record.nextAttemptAt;
    const op = this.#fence(this.#kv.atomic())
      .check({ key: keys.msg(old.id), versionstamp: current.versionstamp })
      .set(keys.msg(old.id), record);
    if (change.state !== old.state) {
      op.delete(keys.state(old.state, old.id))
        .set(keys.state(change.state, old.id), null)
        .mutate({ type: "sum", key: keys.count(old.state), value: MINUS_ONE })
        .mutate({ type: "sum", key: keys.count(change.state), value: PLUS_ONE });
    }
    if (FINAL_STATES.has(change.state)) op.delete(keys.queue(old.channel, old.id));
    const result = await retryLocked(
      `mark message ${old.id} ${change.state}`,
      () => op.commit(),
    );
    return result.ok ? { record, versionstamp: result.versionstamp } : null;
  }

  /** Takes a message in a final state off its queue (repairs an index). */
  async dequeue(record: StoredRecord): Promise<void> {
    await retryLocked(
      "repair a queue",
      () => this.#kv.delete(keys.queue(record.channel, record.id)),
    );
  }

  /** The record of message `id`, or null. */
  async record(id: string): Promise<VersionedRecord | null> {
    const entry = await retryLocked(
      "read a message",
      () => this.#kv.get<StoredRecord>(keys.msg(id)),
    );
    return entry.value && entry.versionstamp
      ? { record: entry.value, versionstamp: entry.versionstamp }
      : null;
  }

  /** The payload of message `id`, or null. */
  async payload(id: string): Promise<Payload | null> {
    const entry = await retryLocked(
      "read a payload",
      () => this.#kv.get<Uint8Array>(keys.payload(id)),
    );
    return entry.value ? decodePayload(entry.value) : null;
  }

  /** The id of the first pending message of `channel`, or null. */
  async head(channel: string): Promise<string | null> {
    return await retryLocked("read a queue", async () => {
      for await (const entry of this.#kv.list({ prefix: keys.queues(channel) }, { limit: 1 })) {
        return entry.key[3] as string;
      }
      return null;
    });
  }

  /** Ids of messages in `state`, oldest first. */
  async idsIn(state: MessageState): Promise<string[]> {
    return await retryLocked("list messages", async () => {
      const ids: string[] = [];
      for await (const entry of this.#kv.list({ prefix: keys.states(state) })) {
        ids.push(entry.key[3] as string);
      }
      return ids;
    });
  }

  /** Full records (with payloads) of `ids`, in that order; missing ones left out. */
  async full(ids: string[]): Promise<MessageRecord[]> {
    const out: MessageRecord[] = [];
    for (let i = 0; i < ids.length; i += 5) {
      const batch = ids.slice(i, i + 5);
      const entries = await retryLocked(
        "read messages",
        () => this.#kv.getMany(batch.flatMap((id) => [keys.msg(id), keys.payload(id)])),
      );
      for (let j = 0; j < batch.length; j++) {
        const record = entries[2 * j].value as StoredRecord | null;
        const bytes = entries[2 * j + 1].value as Uint8Array | null;
        if (record && bytes) out.push({ ...record, payload: decodePayload(bytes) });
      }
    }
    return out;
  }

  /**
   * Records newest first, from the state index when `state` is given, else
   * from all messages; `sinceMs` stops at older ones, `untilMs` and `before` (an id) skip newer
   * ones, `channel` filters.
   */
  async list(
    filter: {
      sinceMs?: number;
      untilMs?: number;
      before?: string;
      state?: MessageState;
      channel?: string;
      limit: number;
    },
  ): Promise<MessageRecord[]> {
    const prefix = filter.state ? keys.states(filter.state) : keys.msgs();
    const start = filter.sinceMs === undefined ? undefined : [...prefix, idTime(filter.sinceMs)];
    // Ids sort by creation time: one made at `untilMs` or later sorts after its time's prefix.
    const ends = [filter.before, filter.untilMs === undefined ? undefined : idTime(filter.untilMs)]
      .filter((end): end is string => end !== undefined).sort();
    const end = ends.length === 0 ? undefined : [...prefix, ends[0]];
    const selector: Deno.KvListSelector = start !== undefined && end !== undefined
      ? { start, end }
      : start !== undefined
      ? { prefix, start }
      : end !== undefined
      ? { prefix, end }
      : { prefix };
    const ids = await retryLocked("list messages", async () => {
      const found: string[] = [];
      const it = this.#kv.list<StoredRecord>(selector, { reverse: true, batchSize: 100 });
      for await (const entry of it) {
        if (found.length >= filter.limit) break;
        const id = entry.key[entry.key.length - 1] as string;
        if (filter.channel !== undefined) {
          const record = filter.state ? (await this.record(id))?.record : entry.value;
          if (record?.channel !== filter.channel) continue;
        }
        found.push(id);
      }
      return found;
    });
    return await this.full(ids);
  }

  /**
   * Deletes every message in a final state whose payload `match` accepts
   * (an erasure request), with its payload, indexes, count and dedupe claim;
   * returns how many (with `dryRun`, how many it would). Messages still on
   * their way are left to the sender.
   */
  async erase(
    match: (payload: Payload) => boolean,
    options: { dryRun?: boolean } = {},
  ): Promise<number> {
    let erased = 0;
    for (const state of FINAL_STATES) {
      for (const id of await this.idsIn(state)) {
        const current = await this.record(id);
        const payload = await this.payload(id);
        if (current === null || payload === null || !match(payload)) continue;
        const { record } = current;
        if (!FINAL_STATES.has(record.state)) continue;
        if (options.dryRun) {
          erased++;
          continue;
        }
        const claim = keys.dedupe(await storedDedupeKey(record.dedupeKey));
        const held = await retryLocked(
          "read a dedupe key",
          () => this.#kv.get<{ id: string }>(claim),
        );
        const op = this.#removal(id, current);
        if (held.value?.id === id) op.check(held).delete(claim);
        if ((await retryLocked(`erase message ${id}`, () => op.commit())).ok) erased++;
      }
    }
    return erased;
  }

  /**
   * Deletes up to `limit` messages in a final state other than "uncertain" (a person decides on
   * those) that were created and last changed before `beforeMs`, oldest first, with their payload,
   * indexes and count; returns how many. Their dedupe claims are left: a claim with a window
   * expires with it, one without keeps its key claimed for good, as asked.
   */
  async prune(beforeMs: number, limit: number): Promise<number> {
    let pruned = 0;
    for (const state of PRUNED_STATES) {
      const old: VersionedRecord[] = [];
      await retryLocked("list messages", async () => {
        old.length = 0;
        for await (const entry of this.#kv.list({ prefix: keys.states(state) })) {
          if (pruned + old.length >= limit) break;
          const current = await this.record(entry.key[3] as string);
          if (current === null) continue;
          // Ids follow creation: past the first message created since, none is older.
          if (Date.parse(current.record.createdAt) >= beforeMs) break;
          if (Date.parse(current.record.updatedAt) < beforeMs) old.push(current);
        }
      });
      for (const current of old) {
        if (current.record.state !== state) continue;
        const op = this.#removal(current.record.id, current);
        if ((await retryLocked("prune a message", () => op.commit())).ok) pruned++;
      }
      if (pruned >= limit) break;
    }
    return pruned;
  }

  /** The commit that deletes message `id` as `current` read it (its record, payload, indexes, count). */
  #removal(id: string, current: VersionedRecord): Deno.AtomicOperation {
    const { record } = current;
    return this.#kv.atomic()
      .check({ key: keys.msg(id), versionstamp: current.versionstamp })
      .delete(keys.msg(id))
      .delete(keys.payload(id))
      .delete(keys.state(record.state, id))
      .delete(keys.queue(record.channel, id))
      .mutate({ type: "sum", key: keys.count(record.state), value: MINUS_ONE });
  }

  /** Messages per state. */
  async counts(): Promise<Record<MessageState, number>> {
    const entries = await retryLocked(
      "count messages",
      () => this.#kv.getMany<Deno.KvU64[]>(ALL_STATES.map((s) => keys.count(s))),
    );
    const counts = {} as Record<MessageState, number>;
    ALL_STATES.forEach((state, i) => {
      counts[state] = Number(entries[i].value?.value ?? 0n);
    });
    return counts;
  }
}
