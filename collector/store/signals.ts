/**
 * Wake-ups between the collectors sharing a store: a command queued through
 * one collector wakes the agent's long-poll held by another, a heartbeat
 * stored by one reaches the live pages served by another. On PostgreSQL they
 * travel as LISTEN/NOTIFY hints (coalesced per quarter second, this collector's
 * own skipped); the receiver re-reads the store, so a lost hint only delays (the
 * long-poll also re-reads on its own every few seconds). A Deno KV file has one
 * collector: nothing to tell anyone.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { KvHandle } from "../../shared/kv/handle.ts";
import { PgKv } from "./postgres/mod.ts";

const log = getLogger(["scriptmon", "collector", "signals"]);

/** What the hints are about; the key is `site/host`. */
export type SignalTopic = "commands" | "live";

/** Hints to the other collectors; see the module comment. */
export interface StoreSignals {
  /** True when other collectors may be listening (PostgreSQL). */
  readonly shared: boolean;
  /** Tells the other collectors that `key` changed. */
  publish(topic: SignalTopic, key: string): void;
  /** Calls `fn` for every key another collector published on `topic`. */
  subscribe(topic: SignalTopic, fn: (key: string) => void): Promise<void>;
  close(): Promise<void>;
}

/** NOTIFY payloads are limited to 8000 bytes. */
const MAX_PAYLOAD = 7_000;
/**
 * Hints wait this long for others (ms): a person does not see a quarter second on a live page, and
 * a replica at 250 heartbeats a second sends 4 NOTIFYs a second instead of 20 (each a transaction,
 * and a wake-up of every other replica).
 */
const COALESCE_MS = 250;

const channel = (topic: SignalTopic) => `scriptmon_${topic}`;

class NoSignals implements StoreSignals {
  readonly shared = false;
  publish(): void {}
  subscribe(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

class PgSignals implements StoreSignals {
  readonly shared = true;
  #kv: PgKv;
  #id: string;
  #pending = new Map<SignalTopic, Set<string>>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #unlisten: (() => Promise<void>)[] = [];
  #sending: Promise<void> = Promise.resolve();

  constructor(kv: PgKv, id: string) {
    this.#kv = kv;
    this.#id = id;
  }

  publish(topic: SignalTopic, key: string): void {
    let keys = this.#pending.get(topic);
    if (keys === undefined) this.#pending.set(topic, keys = new Set());
    keys.add(key);
    this.#timer ??= setTimeout(() => this.#flush(), COALESCE_MS);
  }

  #flush(): void {
    this.#timer = null;
    const batches: [SignalTopic, string][] = [];
    for (const [topic, keys] of this.#pending) {
      let payload = this.#id;
      for (const key of keys) {
        if (payload.length + key.length + 1 > MAX_PAYLOAD) {
          batches.push([topic, payload]);
          payload = this.#id;
        }
        payload += `\n${key}`;
      }
      batches.push([topic, payload]);
    }
    this.#pending.clear();
    this.#sending = this.#sending.then(async () => {
      for (const [topic, payload] of batches) {
        try {
          await this.#kv.sql.notify(channel(topic), payload);
        } catch (error) {
          log.warn("Cannot tell the other collectors (they catch up on their own): {error}", {
            error,
          });
        }
      }
    });
  }

  async subscribe(topic: SignalTopic, fn: (key: string) => void): Promise<void> {
    const { unlisten } = await this.#kv.sql.listen(channel(topic), (payload) => {
      const [from, ...keys] = payload.split("\n");
      if (from === this.#id) return;
      for (const key of keys) {
        try {
          fn(key);
        } catch (error) {
          log.error("A {topic} hint failed: {error}", { topic, error });
        }
      }
    });
    this.#unlisten.push(unlisten);
  }

  async close(): Promise<void> {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#flush();
    }
    await this.#sending;
    await Promise.all(this.#unlisten.splice(0).map((unlisten) => unlisten().catch(() => {})));
  }
}

/** The hints for `kv`: NOTIFY on PostgreSQL, none on a KV file. `id` names this collector. */
export function storeSignals(kv: KvHandle, id: string): StoreSignals {
  return kv instanceof PgKv ? new PgSignals(kv, id) : new NoSignals();
}
