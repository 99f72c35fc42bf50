/**
 * Site leases: a `singleton = "site"` script runs on the agents of its site
 * that hold a slot of its lease in the collector's KV. A script has one slot
 * unless its agents ask for `replicas` (N): then slots 0 to N-1, slot 0 at
 * `["lease", site, script]` (the key of the single lease, so that going from
 * one copy to several and back keeps its holder) and slot i at
 * `["lease", site, script, i]`. An agent holds at most one slot of a script.
 *
 * On a Deno KV file the expiry is kept in the value (`expiresAt`, the
 * collector's clock) and compared on every request: KV's `expireIn` is lazy and
 * only tidies up. On PostgreSQL, shared by replicas whose clocks may differ, the
 * record expires by the database's clock (`expireIn` = the ttl) and a lease is
 * held exactly while its record is there.
 *
 * Every write is an atomic checked on the versionstamps of all N slots just
 * read, so two agents racing for a free or expired slot cannot both get it,
 * and two requests of one agent cannot take two slots. Slots from N on are
 * neither granted nor renewed: when N shrinks, their holders stop their copies.
 *
 * @module
 */

import { expiresExactly, type KvHandle } from "../../shared/kv/handle.ts";
import type { LeaseResponse } from "../../shared/protocol.ts";
import { retryLocked } from "../store/kv_retry.ts";

/** A lease (one slot) as stored. */
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
  /**
   * How many slots (copies) the script has. Absent: one, and the answer has
   * none of the replica fields (agents from before `replicas` refuse them).
   */
  replicas?: number;
  /** The slot renewed or released; absent: the one this holder holds. */
  replica?: number;
}

type Slot = Deno.KvEntryMaybe<LeaseRecord>;

/** Gives up after this many writes lost to concurrent ones (plus one per slot). */
const MAX_ATTEMPTS = 10;
/** Abandoned leases are removed by KV this long after they expire (lazily). */
const TIDY_AFTER_MS = 3_600_000;
/** Deno KV reads at most this many keys at once. */
const GET_MANY = 10;

/** Leases per (site, script) in the collector's KV; see the module comment. */
export class SiteLeases {
  #kv: KvHandle;
  #exact: boolean;

  /** Uses `kv`; the caller opens and closes it. */
  constructor(kv: KvHandle) {
    this.#kv = kv;
    this.#exact = expiresExactly(kv);
  }

  /**
   * Renews the live slot this holder holds, else takes its own just-expired
   * one, else the lowest free or expired one; else answers who holds them.
   */
  acquire(options: LeaseRequestOptions): Promise<LeaseResponse> {
    return this.#update(options, (slots) => {
      const own = (live: boolean) =>
        slots.findIndex((s) =>
          s.value?.holder === options.holder && this.#live(s, options.now) === live
        );
      let index = own(true);
      if (index < 0) index = own(false);
      if (index < 0) index = slots.findIndex((s) => !this.#live(s, options.now));
      return index < 0 ? null : index;
    });
  }

  /**
   * Extends the holder's slot (even just expired, while nobody took it over);
   * never a slot from `replicas` on, nor a second slot of the same holder.
   */
  renew(options: LeaseRequestOptions): Promise<LeaseResponse> {
    return this.#update(options, (slots) => {
      const index = options.replica ??
        (slots.length === 1 ? 0 : slots.findIndex((s) => s.value?.holder === options.holder));
      if (index < 0 || index >= slots.length) return null;
      const current = slots[index].value;
      // Where expired records are gone, a missing one expired and nobody took it over since.
      const mine = current === null ? this.#exact : current.holder === options.holder;
      const elsewhere = slots.some((s, i) =>
        i !== index && s.value?.holder === options.holder && this.#live(s, options.now)
      );
      return mine && !elsewhere ? index : null;
    });
  }

  /** Gives up every slot of the holder (of the N, and the named one); anyone may take them at once. */
  async release(options: Omit<LeaseRequestOptions, "ttlMs">): Promise<LeaseResponse> {
    const count = slotCount(options);
    const extra = options.replica !== undefined && options.replica >= count
      ? options.replica
      : null;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS + count; attempt++) {
      const indices = [...Array(count).keys(), ...(extra === null ? [] : [extra])];
      const slots = await this.#read(options.site, options.script, indices);
      const mine = slots.filter((s) => s.value?.holder === options.holder);
      if (mine.length === 0) return this.#answer(slots.slice(0, count), options, null);
      const result = await retryLocked(() => {
        const atomic = this.#kv.atomic().check(...slots);
        for (const slot of mine) atomic.delete(slot.key);
        return atomic.commit();
      });
      if (!result.ok) continue;
      const left = slots.slice(0, count).map((s) =>
        s.value?.holder === options.holder ? { key: s.key, value: null, versionstamp: null } : s
      );
      return this.#answer(left, options, null);
    }
    throw new Error(
      `Cannot release the lease of ${options.site}/${options.script}: ${
        MAX_ATTEMPTS + count
      } concurrent writes won`,
    );
  }

  /** The lease (slot `replica`, default 0) as stored, or null. */
  async get(site: string, script: string, replica = 0): Promise<LeaseRecord | null> {
    return (await retryLocked(() => this.#kv.get<LeaseRecord>(leaseKey(site, script, replica))))
      .value;
  }

  /** Whether `slot` is held now (an expired record on a Deno KV file is not). */
  #live(slot: Slot, now: number): boolean {
    return slot.value !== null && (this.#exact || slot.value.expiresAt > now);
  }

  /** The slots at `indices`, in that order, each with its versionstamp. */
  async #read(site: string, script: string, indices: number[]): Promise<Slot[]> {
    const chunks: number[][] = [];
    for (let i = 0; i < indices.length; i += GET_MANY) chunks.push(indices.slice(i, i + GET_MANY));
    const read = await Promise.all(
      chunks.map((chunk) =>
        retryLocked(() =>
          this.#kv.getMany<LeaseRecord[]>(chunk.map((i) => leaseKey(site, script, i)))
        )
      ),
    );
    return read.flat();
  }

  /**
   * The lease as the wire shows it to `options.holder`, `held` the slot it
   * holds (or null): an expired slot is free.
   */
  #answer(
    slots: Slot[],
    options: Pick<LeaseRequestOptions, "holder" | "now" | "replicas">,
    held: number | null,
  ): LeaseResponse {
    const live = slots.map((s) => this.#live(s, options.now) ? s.value : null);
    // Held: this holder's slot; else the one that may free up first.
    const shown = held !== null ? live[held] : live.reduce<LeaseRecord | null>(
      (first, r) => r !== null && (first === null || r.expiresAt < first.expiresAt) ? r : first,
      null,
    );
    const answer: LeaseResponse = {
      held: held !== null,
      holder: shown?.holder ?? null,
      expiresAt: shown ? new Date(shown.expiresAt).toISOString() : null,
    };
    if (options.replicas === undefined) return answer;
    return {
      ...answer,
      replica: held,
      replicas: options.replicas,
      holders: live.map((r) => r?.holder ?? null),
    };
  }

  /** Writes this holder's record into the slot `pick` chooses among the N read; null: none. */
  async #update(
    options: LeaseRequestOptions,
    pick: (slots: Slot[]) => number | null,
  ): Promise<LeaseResponse> {
    const count = slotCount(options);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS + count; attempt++) {
      const slots = await this.#read(options.site, options.script, [...Array(count).keys()]);
      const index = pick(slots);
      if (index === null) return this.#answer(slots, options, null);
      const previous = slots[index].value;
      const record: LeaseRecord = {
        holder: options.holder,
        expiresAt: options.now + options.ttlMs,
        acquiredAt: previous?.holder === options.holder ? previous.acquiredAt : options.now,
        renewedAt: options.now,
      };
      const result = await retryLocked(() =>
        this.#kv.atomic()
          .check(...slots)
          .set(slots[index].key, record, {
            expireIn: options.ttlMs + (this.#exact ? 0 : TIDY_AFTER_MS),
          })
          .commit()
      );
      if (!result.ok) continue;
      const written = slots.with(index, { ...slots[index], value: record, versionstamp: "" });
      return this.#answer(written, options, index);
    }
    throw new Error(
      `Cannot write the lease of ${options.site}/${options.script}: ${
        MAX_ATTEMPTS + count
      } concurrent writes won`,
    );
  }
}

function slotCount(options: { replicas?: number }): number {
  return options.replicas ?? 1;
}

/**
 * The KV key of slot `replica` of the lease of `script` at `site`; slot 0 is
 * the key of a script with one copy.
 */
export function leaseKey(site: string, script: string, replica = 0): Deno.KvKey {
  return replica === 0 ? ["lease", site, script] : ["lease", site, script, replica];
}
