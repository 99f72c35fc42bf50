/**
 * The audit trail: who did what, when, from where, to what, and how it
 * ended. Append-only, and tamper-evident: each entry carries the SHA-256
 * of the one before it and its own hash over both, so {@linkcode AuditLog.verify}
 * finds an entry that was changed (its hash no longer matches), removed
 * (a gap in the seqs, or a `prev` that does not match) or cut off the end
 * (the head record names a later entry).
 *
 * Keys: `["audit", seq]` → {@linkcode AuditEntry}; `["audit_head"]` → the
 * last seq and hash (each append checks it, so appends are serialized);
 * `["audit_anchor"]` → the seq and hash of the last entry retention
 * purged, where verification starts.
 *
 * Details never hold secrets: the callers pass names, never tokens,
 * passwords or webhook URLs, and {@linkcode AuditLog.append} drops any
 * detail whose key looks like one.
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv/handle.ts";
import { redact } from "../../shared/redact.ts";
import { retryLocked } from "../store/kv_retry.ts";

/** How an audited action ended. */
export type AuditResult = "ok" | "refused" | "failed";

/** One audited action as the caller describes it. */
export interface AuditInput {
  /** `user:<name>`, `api-token:<name>`, `agent-token:<name>`, `cli:<os user>`, `collector`. */
  actor: string;
  /** The remote address, when over HTTP. */
  address?: string | null;
  /** Dotted verb: `command.restart`, `alert.ack`, `silence.add`, `user.add`, `signin`, ... */
  action: string;
  /** What it acted on: `BFI4/ws-07/rates`, a user name, an alert id. */
  target: string;
  result: AuditResult;
  /** Small, secret-free facts (a reason, a role, a duration). */
  detail?: Record<string, string | number | boolean | null>;
}

/** One entry of the trail. */
export interface AuditEntry {
  seq: number;
  /** ISO time. */
  at: string;
  actor: string;
  address: string | null;
  action: string;
  target: string;
  result: AuditResult;
  detail: Record<string, string | number | boolean | null>;
  /** The hash of the entry before (the anchor's for the first one kept). */
  prev: string;
  /** Hex SHA-256 of this entry's fields (all but `hash`) in this order. */
  hash: string;
}

/** What {@linkcode AuditLog.verify} found. */
export type AuditVerdict =
  | { ok: true; entries: number; first: number | null; last: number | null }
  | { ok: false; entries: number; seq: number; problem: string };

/** Filters of {@linkcode AuditLog.list}. */
export interface AuditQuery {
  /** Inclusive, ms. */
  since?: number;
  /** Exclusive, ms. */
  until?: number;
  action?: string;
  actor?: string;
  /** Newest first, at most this many. */
  limit: number;
}

interface Head {
  seq: number;
  hash: string;
}

const HEAD_KEY = ["audit_head"];
const ANCHOR_KEY = ["audit_anchor"];
/** The `prev` of the very first entry. */
const GENESIS = "0".repeat(64);
/** Detail keys that could hold a secret are never written. */
const SECRET_KEY = /pass|secret|token|key|url|cookie|session/i;
const MAX_DETAIL_CHARS = 500;

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The hash of `entry` (its `hash` field aside), over its fields in a fixed order. */
export function entryHash(entry: Omit<AuditEntry, "hash">): Promise<string> {
  const detail = Object.keys(entry.detail).sort().map((k) => [k, entry.detail[k]]);
  return sha256(JSON.stringify([
    entry.seq,
    entry.at,
    entry.actor,
    entry.address,
    entry.action,
    entry.target,
    entry.result,
    detail,
    entry.prev,
  ]));
}

function cleanDetail(detail: AuditInput["detail"]): AuditEntry["detail"] {
  const out: AuditEntry["detail"] = {};
  for (const [key, value] of Object.entries(detail ?? {})) {
    if (SECRET_KEY.test(key)) continue;
    out[key] = typeof value === "string" ? redact(value).slice(0, MAX_DETAIL_CHARS) : value;
  }
  return out;
}

/** The collector's audit trail; see the module doc. */
export class AuditLog {
  #kv: KvHandle;
  #now: () => number;

  constructor(kv: KvHandle, options: { now?: () => number } = {}) {
    this.#kv = kv;
    this.#now = options.now ?? Date.now;
  }

  /** Appends one entry after the current head; returns it. */
  async append(input: AuditInput): Promise<AuditEntry> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const [head, anchor] = await retryLocked(() =>
        this.#kv.getMany<[Head, Head]>([HEAD_KEY, ANCHOR_KEY])
      );
      const last = head.value ?? anchor.value ?? { seq: 0, hash: GENESIS };
      const fields: Omit<AuditEntry, "hash"> = {
        seq: last.seq + 1,
        at: new Date(this.#now()).toISOString(),
        actor: input.actor,
        address: input.address ?? null,
        action: input.action,
        target: redact(input.target).slice(0, MAX_DETAIL_CHARS),
        result: input.result,
        detail: cleanDetail(input.detail),
        prev: last.hash,
      };
      const entry: AuditEntry = { ...fields, hash: await entryHash(fields) };
      const key = ["audit", entry.seq];
      const result = await retryLocked(() =>
        this.#kv.atomic()
          .check(head)
          .check({ key, versionstamp: null })
          .set(key, entry)
          .set(HEAD_KEY, { seq: entry.seq, hash: entry.hash })
          .commit()
      );
      if (result.ok) return entry;
    }
    throw new Error("Cannot append to the audit trail: 100 concurrent appends conflicted");
  }

  /** Entries newest first, filtered. */
  async list(query: AuditQuery): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    for await (
      const { value } of this.#kv.list<AuditEntry>({ prefix: ["audit"] }, {
        reverse: true,
        batchSize: 500,
      })
    ) {
      const at = Date.parse(value.at);
      if (query.until !== undefined && at >= query.until) continue;
      if (query.since !== undefined && at < query.since) break;
      if (query.action !== undefined && !value.action.startsWith(query.action)) continue;
      if (query.actor !== undefined && value.actor !== query.actor) continue;
      out.push(value);
      if (out.length >= query.limit) break;
    }
    return out;
  }

  /** Walks the whole trail from the anchor and checks every link; see the module doc. */
  async verify(): Promise<AuditVerdict> {
    // The trail as far as its head now: appends during the walk are not a cut-off end.
    const head = (await this.#kv.get<Head>(HEAD_KEY)).value;
    let anchor = (await this.#kv.get<Head>(ANCHOR_KEY)).value;
    let expected = anchor ?? { seq: 0, hash: GENESIS };
    let entries = 0;
    let first: number | null = null;
    const list = this.#kv.list<AuditEntry>({
      prefix: ["audit"],
      end: ["audit", (head?.seq ?? 0) + 1],
    });
    for await (const { key, value } of list) {
      const seq = key[1] as number;
      const fail = (problem: string): AuditVerdict => ({ ok: false, entries, seq, problem });
      if (seq !== expected.seq + 1) {
        // The retention purge may have moved the anchor past what was walked since it was read.
        // It deletes oldest first: what was walked must be gone too, or this is no purge.
        anchor = (await this.#kv.get<Head>(ANCHOR_KEY)).value;
        const walkedGone = first === null ||
          (await this.#kv.get(["audit", first])).versionstamp === null;
        if (
          anchor !== null && anchor.seq + 1 === seq && anchor.seq >= expected.seq && walkedGone
        ) {
          expected = anchor;
        }
      }
      if (seq !== expected.seq + 1) {
        return fail(
          `entry ${expected.seq + 1}${
            seq > expected.seq + 2 ? `..${seq - 1}` : ""
          } is missing (removed?)`,
        );
      }
      const { hash, ...fields } = value;
      if (value.seq !== seq || hash !== await entryHash(fields)) {
        return fail(`entry ${seq} was changed: its hash does not match its content`);
      }
      if (value.prev !== expected.hash) {
        return fail(`entry ${seq} does not follow entry ${expected.seq} (prev hash differs)`);
      }
      first ??= seq;
      entries++;
      expected = { seq, hash };
    }
    if (entries === 0) {
      // Everything up to the head may have been purged meanwhile: the anchor says so.
      anchor = (await this.#kv.get<Head>(ANCHOR_KEY)).value;
      if (anchor !== null && anchor.seq >= expected.seq) expected = anchor;
    }
    const end = head ?? anchor ?? { seq: 0, hash: GENESIS };
    if (end.seq !== expected.seq || end.hash !== expected.hash) {
      return {
        ok: false,
        entries,
        seq: expected.seq + 1,
        problem: `the trail ends at entry ${expected.seq} but its head names entry ${end.seq} ` +
          "(entries cut off the end?)",
      };
    }
    return { ok: true, entries, first, last: entries === 0 ? null : expected.seq };
  }

  /**
   * Deletes entries older than `before` (ms), oldest first, and moves the
   * anchor to the last one deleted, so that what is kept still verifies.
   * Returns how many went.
   */
  async purge(before: number): Promise<number> {
    let purged = 0;
    let op = this.#kv.atomic();
    let pending = 0;
    let anchor: Head | null = null;
    const flush = async () => {
      if (pending === 0 || anchor === null) return;
      const batch = op.set(ANCHOR_KEY, anchor);
      await retryLocked(() => batch.commit());
      purged += pending;
      op = this.#kv.atomic();
      pending = 0;
    };
    for await (const { key, value } of this.#kv.list<AuditEntry>({ prefix: ["audit"] })) {
      if (Date.parse(value.at) >= before) break;
      op.delete(key);
      anchor = { seq: value.seq, hash: value.hash };
      if (++pending === 400) await flush();
    }
    await flush();
    return purged;
  }
}
