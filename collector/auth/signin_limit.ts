/**
 * Sign-in rate limits with lockout, per user name and per remote address,
 * kept in KV (they survive restarts) under `["signin_fail", "user"|"addr", id]`.
 *
 * Each value counts the attempts of its window (each is counted before
 * its password is checked, so a burst sent at once cannot outrun the
 * count; a success clears it) and, once a limit is reached, holds when the
 * lock ends; the expiry is kept in the value (KV's
 * own `expireIn` only cleans up, it is not exact). Failures for names
 * nobody has count the same, so a lock tells nothing about who exists.
 * A successful sign-in clears its user's count (not its address's).
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv/handle.ts";
import { retryLocked } from "../store/kv_retry.ts";

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
  #kv: KvHandle;
  readonly limits: SignInLimits;

  /** Uses `kv` (the store's handle); `limits` default {@linkcode DEFAULT_SIGNIN_LIMITS}. */
  constructor(kv: KvHandle, limits: Partial<SignInLimits> = {}) {
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

  /**
   * Counts a sign-in attempt before its password is checked, so that many
   * sent at once cannot all be checked before the first failure counts.
   * Returns the lock that refuses it: one in force, or one this attempt
   * starts by going past the limit.
   */
  async attempt(user: string, addr: string | null, now: number): Promise<Lockout | null> {
    return await this.#each(user, addr, (scope, id) => this.#update(scope, id, now, "attempt"));
  }

  /** The attempt's password was wrong: returns the lock it starts at the limit, if any. */
  async failed(user: string, addr: string | null, now: number): Promise<Lockout | null> {
    return await this.#each(user, addr, (scope, id) => this.#update(scope, id, now, "failed"));
  }

  /**
   * A successful sign-in: clears its user's count, and takes its attempt back
   * off its address's (only failures count there: an office behind one
   * address signs in many times).
   */
  async succeeded(user: string, addr: string | null = null): Promise<void> {
    await retryLocked(() => this.#kv.delete(key("user", user)));
    if (addr === null) return;
    for (let attempt = 0; attempt < 10; attempt++) {
      const entry = await retryLocked(() => this.#kv.get<FailCount>(key("addr", addr)));
      if (entry.value === null || entry.value.count === 0) return;
      const value = { ...entry.value, count: entry.value.count - 1 };
      const result = await retryLocked(() =>
        this.#kv.atomic().check(entry).set(key("addr", addr), value, {
          expireIn: Math.max(1000, value.expiresAt - Date.now()),
        }).commit()
      );
      if (result.ok) return;
    }
  }

  async #each(
    user: string,
    addr: string | null,
    fn: (scope: Scope, id: string) => Promise<number | null>,
  ): Promise<Lockout | null> {
    let lock: Lockout | null = null;
    const ids: [Scope, string][] = [["user", user]];
    if (addr !== null) ids.push(["addr", addr]);
    for (const [scope, id] of ids) {
      const retryAfterMs = await fn(scope, id);
      if (retryAfterMs !== null && (lock === null || retryAfterMs > lock.retryAfterMs)) {
        lock = { scope, retryAfterMs };
      }
    }
    return lock;
  }

  /**
   * An attempt adds one to the count (a lock starts past `max`); a failure
   * locks once the count is at `max`. Returns how long a lock in force lasts yet.
   */
  async #update(scope: Scope, id: string, now: number, kind: "attempt" | "failed") {
    const limit = this.limits[scope];
    for (let attempt = 0; attempt < 10; attempt++) {
      const entry = await retryLocked(() => this.#kv.get<FailCount>(key(scope, id)));
      const old = entry.value;
      const fresh = old === null || now >= old.expiresAt || now - old.since >= limit.windowMs;
      if (!fresh && old.lockedUntil !== null && old.lockedUntil > now) {
        return old.lockedUntil - now;
      }
      if (kind === "failed" && fresh) return null; // cleared meanwhile by a success
      const count = fresh ? 1 : old.count + (kind === "attempt" ? 1 : 0);
      const locks = kind === "attempt" ? count > limit.max : count >= limit.max;
      // A lock starts a new window: after it, the next attempts count from one.
      const since = fresh || locks ? now : old.since;
      const lockedUntil = locks ? now + limit.lockMs : null;
      const value: FailCount = { count: locks ? 0 : count, since, lockedUntil, expiresAt: 0 };
      value.expiresAt = Math.max(since + limit.windowMs, lockedUntil ?? 0);
      const result = await retryLocked(() =>
        this.#kv.atomic().check(entry).set(key(scope, id), value, {
          expireIn: Math.max(1000, value.expiresAt - now),
        }).commit()
      );
      if (result.ok) return locks ? limit.lockMs : null;
    }
    // Too many at once to count: an attempt is refused (closed, not open), a failure was counted.
    return kind === "attempt" ? limit.lockMs : null;
  }
}
