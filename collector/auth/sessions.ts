/**
 * Sign-in sessions. A session id is 32 random bytes (base64url) handed to
 * the browser in a cookie; the store keeps only its SHA-256, under
 * `["session", hash]`, with an index `["session_user", name, hash]` so that
 * removing a user ends their sessions. A session ends after `idleMs`
 * without use, after `maxAgeMs` in any case, on sign-out, or on revocation.
 * Each session has its own CSRF token for forms and `fetch()` calls.
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv/handle.ts";
import { timingSafeEqual } from "node:crypto";
import { retryLocked } from "../store/kv_retry.ts";
import { hashToken } from "../store/tokens.ts";

/** A session as stored. */
export interface SessionRecord {
  user: string;
  /** Sent back in a hidden field or `X-CSRF-Token` with every state-changing request. */
  csrf: string;
  createdAt: string;
  /** Updated at most once a minute. */
  lastSeenAt: string;
  /** `createdAt` + the maximum age. */
  expiresAt: string;
}

/** Default idle timeout: 12 h. */
export const SESSION_IDLE_MS = 12 * 3_600_000;
/** Default maximum age: 7 days. */
export const SESSION_MAX_AGE_MS = 7 * 86_400_000;
/** `lastSeenAt` is written at most this often. */
const TOUCH_EVERY_MS = 60_000;

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

const sessionKey = (hash: string) => ["session", hash];
const indexKey = (user: string, hash: string) => ["session_user", user, hash];

/** Sessions in the collector's KV. */
export class Sessions {
  #kv: KvHandle;
  readonly idleMs: number;
  readonly maxAgeMs: number;

  /** Uses `kv` (the store's handle). */
  constructor(kv: KvHandle, options: { idleMs?: number; maxAgeMs?: number } = {}) {
    this.#kv = kv;
    this.idleMs = options.idleMs ?? SESSION_IDLE_MS;
    this.maxAgeMs = options.maxAgeMs ?? SESSION_MAX_AGE_MS;
  }

  /** Starts a session for `user`; returns its id (for the cookie only; never stored) and record. */
  async create(user: string, now: number): Promise<{ id: string; record: SessionRecord }> {
    const id = randomId();
    const hash = hashToken(id);
    const record: SessionRecord = {
      user,
      csrf: randomId(),
      createdAt: new Date(now).toISOString(),
      lastSeenAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.maxAgeMs).toISOString(),
    };
    await retryLocked(() =>
      this.#kv.atomic()
        .set(sessionKey(hash), record, { expireIn: this.maxAgeMs })
        .set(indexKey(user, hash), true, { expireIn: this.maxAgeMs })
        .commit()
    );
    return { id, record };
  }

  /** The live session of cookie value `id` (touching it), or null when unknown, idle or expired. */
  async get(id: string, now: number): Promise<{ hash: string; record: SessionRecord } | null> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(id)) return null;
    const hash = hashToken(id);
    const entry = await retryLocked(() => this.#kv.get<SessionRecord>(sessionKey(hash)));
    const record = entry.value;
    if (record === null) return null;
    const lastSeen = Date.parse(record.lastSeenAt);
    if (now >= Date.parse(record.expiresAt) || now - lastSeen >= this.idleMs) {
      await this.#delete(hash, record.user);
      return null;
    }
    if (now - lastSeen >= TOUCH_EVERY_MS) {
      const touched = { ...record, lastSeenAt: new Date(now).toISOString() };
      const left = Math.max(1000, Date.parse(record.expiresAt) - now);
      // A lost race only means another request touched it first.
      await retryLocked(() =>
        this.#kv.atomic().check(entry).set(sessionKey(hash), touched, { expireIn: left }).commit()
      );
      return { hash, record: touched };
    }
    return { hash, record };
  }

  /** Ends the session whose stored hash is `hash` (sign-out). */
  async revoke(hash: string): Promise<void> {
    const entry = await retryLocked(() => this.#kv.get<SessionRecord>(sessionKey(hash)));
    if (entry.value !== null) await this.#delete(hash, entry.value.user);
  }

  /** Ends every session of `user`; returns how many. */
  revokeUser(user: string): Promise<number> {
    return revokeUserSessions(this.#kv, user);
  }

  async #delete(hash: string, user: string): Promise<void> {
    await retryLocked(() =>
      this.#kv.atomic().delete(sessionKey(hash)).delete(indexKey(user, hash)).commit()
    );
  }
}

/** Ends every session of `user` in `kv`; returns how many. */
export async function revokeUserSessions(kv: KvHandle, user: string): Promise<number> {
  let count = 0;
  for await (const entry of kv.list({ prefix: ["session_user", user] })) {
    const hash = entry.key[2] as string;
    await retryLocked(() => kv.atomic().delete(sessionKey(hash)).delete(entry.key).commit());
    count++;
  }
  return count;
}

/** A session as listings show it: a short id (the start of its stored hash), never the cookie. */
export interface SessionListing {
  id: string;
  user: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
}

/** The live sessions of `user` in `kv`, oldest first. */
export async function listUserSessions(kv: KvHandle, user: string): Promise<SessionListing[]> {
  const out: SessionListing[] = [];
  for await (const entry of kv.list({ prefix: ["session_user", user] })) {
    const hash = entry.key[2] as string;
    const record = (await retryLocked(() => kv.get<SessionRecord>(sessionKey(hash)))).value;
    if (record === null) continue;
    const { createdAt, lastSeenAt, expiresAt } = record;
    out.push({ id: hash.slice(0, 12), user, createdAt, lastSeenAt, expiresAt });
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** Whether `given` is the session's CSRF token (constant time). */
export function csrfMatches(record: SessionRecord, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(record.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}
