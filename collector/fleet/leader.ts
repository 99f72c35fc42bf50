/**
 * One leader among the collectors sharing a store: the periodic work (the
 * offline check and the alerts it raises, alert delivery, rollups and the
 * retention purge) runs on the one collector holding the lease
 * `["leader", "periodic"]`; the others serve requests only.
 *
 * The holder renews every third of `ttlMs`; the others try to take it just
 * as often, and can once it has expired: within `ttlMs + ttlMs / 3` of the
 * holder's death. Every acquisition raises the lease's epoch (kept beside it,
 * never expiring), and every write is an atomic checked on what was just
 * read, so two collectors never both hold it. On PostgreSQL the expiry is the
 * database's (`expireIn`, judged by its clock). A Deno KV file belongs to one
 * collector: there it takes the lease whatever an earlier run left. A leader that could not
 * renew within `ttlMs` by its own clock stops its work even before it learns
 * that another took over; writes that must not come from a deposed leader
 * carry {@linkcode Leadership.fence}.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { expiresExactly, type KvHandle } from "../../shared/kv/handle.ts";
import type { Clock } from "../clock.ts";

const log = getLogger(["scriptmon", "collector", "leader"]);

const LEASE: Deno.KvKey = ["leader", "periodic"];
const EPOCH: Deno.KvKey = ["leader", "periodic_epoch"];

/** The lease as stored. */
export interface LeaderRecord {
  /** The holder's `replicaId`. */
  holder: string;
  /** Raised by one on every acquisition: a fencing token. */
  epoch: number;
  acquiredAt: number;
  renewedAt: number;
  /** By the holder's clock, for people reading the record (the store judges the expiry). */
  expiresAt: number;
}

/** What {@linkcode Leadership} takes. */
export interface LeadershipOptions {
  /** This collector's id (unique per process). */
  id: string;
  ttlMs: number;
  clock: Clock;
  /** Called when this collector becomes the leader; the lease is held while it runs. */
  onGain: (epoch: number) => Promise<void>;
  /** Called when it stops being the leader (lost, expired, or closing). */
  onLose: () => Promise<void>;
}

/** This collector's part in the leader election; see the module comment. */
export class Leadership {
  #kv: KvHandle;
  #options: LeadershipOptions;
  #exact: boolean;
  /** The lease entry as last written by us; null while not the leader. */
  #held: Deno.KvEntry<LeaderRecord> | null = null;
  /** The epoch's versionstamp as our acquisition wrote it (renewals leave it be). */
  #epochStamp: string | null = null;
  #renewedAt = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #busy: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(kv: KvHandle, options: LeadershipOptions) {
    this.#kv = kv;
    this.#options = options;
    this.#exact = expiresExactly(kv);
  }

  /** Whether this collector holds the lease now (renewed within `ttlMs` by its own clock). */
  isLeader(): boolean {
    return this.#held !== null &&
      this.#options.clock.now() - this.#renewedAt < this.#options.ttlMs;
  }

  /** The epoch held, or null when not the leader. */
  epoch(): number | null {
    return this.isLeader() ? this.#held!.value.epoch : null;
  }

  /**
   * Makes `op` commit only while no collector has taken the lease since this one did: the epoch
   * is as its acquisition left it. A renewal of the lease meanwhile does not refuse it (it once
   * did, and a leader's write made just before a renewal was refused as "no longer leading").
   */
  fence(op: Deno.AtomicOperation): Deno.AtomicOperation {
    return op.check({
      key: EPOCH,
      versionstamp: this.#held === null ? "ffffffffffffffffffff" : this.#epochStamp,
    });
  }

  /** Tries at once, then every third of `ttlMs`. */
  async start(): Promise<void> {
    await this.#tick();
  }

  /** One round: renew, or try to take the lease; runs the callbacks on a change. */
  #tick(): Promise<void> {
    const run = this.#busy.then(async () => {
      if (this.#closed) return;
      try {
        await this.#round();
      } catch (error) {
        log.error("Leader election round failed: {error}", { error });
        if (this.#held !== null && !this.isLeader()) await this.#lose("it could not renew");
      }
      if (!this.#closed) {
        this.#timer = setTimeout(() => void this.#tick(), Math.max(100, this.#options.ttlMs / 3));
      }
    });
    this.#busy = run.catch(() => {});
    return run;
  }

  async #round(): Promise<void> {
    const { id, ttlMs, clock } = this.#options;
    const [lease, epoch] = await this.#kv.getMany<[LeaderRecord, number]>([LEASE, EPOCH]);
    const now = clock.now();
    const current = lease.value;
    // A Deno KV file has one collector: another holder's record there is an earlier run's.
    const live = current !== null && (this.#exact || current.holder === id);
    if (live && current.holder !== id) {
      if (this.#held !== null) await this.#lose(`${current.holder} holds the lease`);
      return;
    }
    const mine = live && current.holder === id && this.#held !== null &&
      lease.versionstamp === this.#held.versionstamp;
    const record: LeaderRecord = mine ? { ...current, renewedAt: now, expiresAt: now + ttlMs } : {
      holder: id,
      epoch: (epoch.value ?? 0) + 1,
      acquiredAt: now,
      renewedAt: now,
      expiresAt: now + ttlMs,
    };
    const op = this.#kv.atomic().check(lease).set(LEASE, record, { expireIn: ttlMs });
    if (!mine) op.check(epoch).set(EPOCH, record.epoch);
    const result = await op.commit();
    if (!result.ok) {
      if (this.#held !== null) await this.#lose("another collector took the lease");
      return;
    }
    const gained = this.#held === null || !mine;
    if (!gained) {
      this.#held = { key: LEASE, value: record, versionstamp: result.versionstamp };
      this.#renewedAt = now;
      return;
    }
    if (this.#held !== null) await this.#lose("its lease expired before it renewed");
    this.#held = { key: LEASE, value: record, versionstamp: result.versionstamp };
    this.#epochStamp = result.versionstamp; // the same commit set the epoch
    this.#renewedAt = now;
    log.info("This collector ({id}) leads the periodic work (epoch {epoch})", {
      id,
      epoch: record.epoch,
    });
    await this.#options.onGain(record.epoch);
  }

  async #lose(why: string): Promise<void> {
    this.#held = null;
    log.warn("This collector ({id}) no longer leads the periodic work: {why}", {
      id: this.#options.id,
      why,
    });
    await this.#options.onLose();
  }

  /** Stops trying; a leader stops its work and gives the lease up so another takes over at once. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#busy;
    const held = this.#held;
    if (held === null) return;
    this.#held = null;
    await this.#options.onLose();
    try {
      await this.#kv.atomic().check(held).delete(LEASE).commit();
    } catch (error) {
      log.warn("Cannot give the leader lease up (it expires by itself): {error}", { error });
    }
  }
}
