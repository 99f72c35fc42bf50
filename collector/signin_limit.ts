/**
 * Sign-in rate limits with lockout, per user name and per remote address,
 * kept in KV (they survive restarts) under `["signin_fail", "user"|"addr", id]`.
 *
 * Each value counts the failures of its window and, once a limit is
 * reached, holds when the lock ends; the expiry is kept in the value (KV's
 * own `expireIn` only cleans up, it is not exact). Failures for names
 * nobody has count the same, so a lock tells nothing about who exists.
 * A successful sign-in clears its user's count (not its address's).
 *
 * @module
 */

import { retryLocked } from "./_kv_retry.ts";

/** One limit: `max` failures within `windowMs` lock for `lockMs`. */
export interface Limit {
  max: number;
  windowMs: number;
  lockMs: number;
}

/** The limits per user name and per address. */
export interface SignInLimits {
  user: Limit;
  addr: Limit;
}

/** 5 failures in 15 min lock a user name for 15 min; 20 lock an address. */
export const DEFAULT_SIGNIN_LIMITS: SignInLimits = {
  user: { max: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 },
  addr: { max: 20, windowMs: 15 * 60_000, lockMs: 15 * 60_000 },
};

/** A counter as stored. */
interface FailCount {
  count: number;
  /** When the window of `count` started (ms). */
  since: number;
  /** Until when sign-ins are refused (ms); null while not locked. */
  lockedUntil: number | null;
  /** When the value means nothing any more (ms). */
  expiresAt: number;
}

/** A refused sign-in: which limit, and for how long yet. */
export interface Lockout {
  scope: "user" | "addr";
  retryAfterMs: number;
}

type Scope = "user" | "addr";

const key = (scope: Scope, id: string) => ["signin_fail", scope, id];

/** The message a locked-out sign-in shows, e.g. "… for this user; try again in 14 min". */
export function lockoutMessage(lockout: Lockout): string {
  const minutes = Math.max(1, Math.ceil(lockout.retryAfterMs / 60_000));
  return `Too many failed sign-ins ${
    lockout.scope === "user" ? "for this user" : "from this address"
  }; try again in ${minutes} min.`;
}

/** The sign-in limits over the collector's KV. */
export class SignInLimiter {
  #kv: Deno.Kv;
  readonly limits: SignInLimits;

  /** Uses `kv` (the store's handle); `limits` default {@linkcode DEFAULT_SIGNIN_LIMITS}. */
  constructor(kv: Deno.Kv, limits: Partial<SignInLimits> = {}) {
    this.#kv = kv;
    this.limits = { ...DEFAULT_SIGNIN_LIMITS, ...limits };
  }

  /** The lock in force for `user` or `addr` (null address: not limited by address), or null. */
  async locked(user: string, addr: string | null, now: number): Promise<Lockout | null> {
    const ids: [Scope, string][] = [["user", user]];
    if (addr !== null) ids.push(["addr", addr]);
    let found: Lockout | null = null;
    for (const [scope, id] of ids) {
      const value = (await retryLocked(() => this.#kv.get<FailCount>(key(scope, id)))).value;
      const until = value === null || now >= value.expiresAt ? null : value.lockedUntil;
      if (until !== null && until > now && (found === null || until - now > found.retryAfterMs)) {
        found = { scope, retryAfterMs: until - now };
      }
    }
    return found;
  }

  /** Counts a failed sign-in; returns the lock it started, if any. */
  async failed(user: string, addr: string | null, now: number): Promise<Lockout | null> {
    let lock: Lockout | null = null;
    const ids: [Scope, string][] = [["user", user]];
    if (addr !== null) ids.push(["addr", addr]);
    for (const [scope, id] of ids) {
      const started = await this.#count(scope, id, now);
      if (started !== null && (lock === null || started > lock.retryAfterMs)) {
        lock = { scope, retryAfterMs: started };
      }
    }
    return lock;
  }

  /** A successful sign-in: clears its user's count. */
  async succeeded(user: string): Promise<void> {
    await retryLocked(() => this.#kv.delete(key("user", user)));
  }

  /** Adds one failure; returns the lock's length when this one started it. */
  async #count(scope: Scope, id: string, now: number): Promise<number | null> {
    const limit = this.limits[scope];
    for (let attempt = 0; attempt < 10; attempt++) {
      const entry = await retryLocked(() => this.#kv.get<FailCount>(key(scope, id)));
      const old = entry.value;
      const fresh = old === null || now >= old.expiresAt || now - old.since >= limit.windowMs;
      const stillLocked = !fresh && old.lockedUntil !== null && old.lockedUntil > now;
      const counted = fresh ? 1 : old.count + 1;
      const locks = counted >= limit.max && !stillLocked;
      // A lock starts a new window: after it, the next failures count from one.
      const count = locks ? 0 : counted;
      const since = fresh || locks ? now : old.since;
      const lockedUntil = locks ? now + limit.lockMs : stillLocked ? old.lockedUntil : null;
      const expiresAt = Math.max(since + limit.windowMs, lockedUntil ?? 0);
      const value: FailCount = { count, since, lockedUntil, expiresAt };
      const result = await retryLocked(() =>
        this.#kv.atomic().check(entry).set(key(scope, id), value, {
          expireIn: Math.max(1000, expiresAt - now),
        }).commit()
      );
      if (result.ok) return locks ? limit.lockMs : null;
    }
    return null;
  }
}
