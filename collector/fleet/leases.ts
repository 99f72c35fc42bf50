/**
 * Site leases: a `singleton = "site"` script runs on the one agent of its
 * site that holds the lease `["lease", site, script]` in the collector's KV.
 * On a Deno KV file the expiry is kept in the value (`expiresAt`, the
 * collector's clock) and compared on every request: KV's `expireIn` is lazy and
 * only tidies up. On PostgreSQL, shared by replicas whose clocks may differ, the
 * record expires by the database's clock (`expireIn` = the ttl) and a lease is
 * held exactly while its record is there.
 * Every write is an atomic checked on the versionstamp just read, so two
 * agents racing for a free or expired lease cannot both get it.
 *
 * @module
 */

import { expiresExactly, type KvHandle } from "../../shared/kv/handle.ts";
import type { LeaseResponse } from "../../shared/protocol.ts";
import { retryLocked } from "../store/kv_retry.ts";

/** A lease as stored. */
export interface LeaseRecord {
  /** `site/host` of the agent holding it. */
  holder: string;
  /** Milliseconds since the epoch, by the collector's clock. */
  expiresAt: number;
  acquiredAt: number;
  renewedAt: number;
}

/** What one lease request names. */
export interface LeaseRequestOptions {
  site: string;
  script: string;
  /** `site/host` of the asking agent. */
  holder: string;
  ttlMs: number;
  /** The collector's clock. */
  now: number;
}

/** Gives up after this many writes lost to concurrent ones. */
const MAX_ATTEMPTS = 10;
/** Abandoned leases are removed by KV this long after they expire (lazily). */
const TIDY_AFTER_MS = 3_600_000;

/** Leases per (site, script) in the collector's KV; see the module comment. */
export class SiteLeases {
  #kv: KvHandle;
  #exact: boolean;

  /** Uses `kv`; the caller opens and closes it. */
  constructor(kv: KvHandle) {
    this.#kv = kv;
    this.#exact = expiresExactly(kv);
  }

  /** Takes the lease when it is free, expired or already this holder's. */
  acquire(options: LeaseRequestOptions): Promise<LeaseResponse> {
    return this.#update(
      options,
      (current) =>
        current === null || this.#expired(current, options.now) ||
        current.holder === options.holder,
    );
  }

  /** Extends the lease, only for its holder (even just expired, while nobody took it over). */
  renew(options: LeaseRequestOptions): Promise<LeaseResponse> {
    // Where expired records are gone, a missing one expired and nobody took it over since.
    return this.#update(
      options,
      (current) => current === null ? this.#exact : current.holder === options.holder,
    );
  }

  #expired(record: LeaseRecord, now: number): boolean {
    return !this.#exact && record.expiresAt <= now;
  }

  /** Gives the lease up, only for its holder; anyone may take it at once. */
  async release(options: Omit<LeaseRequestOptions, "ttlMs">): Promise<LeaseResponse> {
    const key = leaseKey(options.site, options.script);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const entry = await retryLocked(() => this.#kv.get<LeaseRecord>(key));
      if (entry.value?.holder !== options.holder) return this.#answer(entry.value, options);
      const result = await retryLocked(() => this.#kv.atomic().check(entry).delete(key).commit());
      if (result.ok) return { held: false, holder: null, expiresAt: null };
    }
    throw new Error(
      `Cannot release the lease of ${options.site}/${options.script}: ${MAX_ATTEMPTS} concurrent writes won`,
    );
  }

  /** The lease as stored, or null. */
  async get(site: string, script: string): Promise<LeaseRecord | null> {
    return (await retryLocked(() => this.#kv.get<LeaseRecord>(leaseKey(site, script)))).value;
  }

  /** The lease as the wire shows it to `options.holder`: an expired one is free. */
  #answer(record: LeaseRecord | null, options: { holder: string; now: number }): LeaseResponse {
    if (record === null || this.#expired(record, options.now)) {
      return { held: false, holder: null, expiresAt: null };
    }
    return {
      held: record.holder === options.holder,
      holder: record.holder,
      expiresAt: new Date(record.expiresAt).toISOString(),
    };
  }

  async #update(
    options: LeaseRequestOptions,
    mayTake: (current: LeaseRecord | null) => boolean,
  ): Promise<LeaseResponse> {
    const key = leaseKey(options.site, options.script);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const entry = await retryLocked(() => this.#kv.get<LeaseRecord>(key));
      if (!mayTake(entry.value)) return this.#answer(entry.value, options);
      const kept = entry.value?.holder === options.holder;
      const record: LeaseRecord = {
        holder: options.holder,
        expiresAt: options.now + options.ttlMs,
        acquiredAt: kept ? entry.value!.acquiredAt : options.now,
        renewedAt: options.now,
      };
      const result = await retryLocked(() =>
        this.#kv.atomic()
          .check(entry)
          .set(key, record, { expireIn: options.ttlMs + (this.#exact ? 0 : TIDY_AFTER_MS) })
          .commit()
      );
      if (result.ok) return this.#answer(record, options);
    }
    throw new Error(
      `Cannot write the lease of ${options.site}/${options.script}: ${MAX_ATTEMPTS} concurrent writes won`,
    );
  }
}

/** The KV key of the lease of `script` at `site`. */
export function leaseKey(site: string, script: string): Deno.KvKey {
  return ["lease", site, script];
}
