/**
 * Keeps the agent's store and logs from growing for as long as the agent runs: every
 * `PRUNE_EVERY_MS` it deletes the finished messages of the outbox older than `[agent] history`
 * (default 14 days), 20 at a time with the agent's other work let in between, so relaying and
 * supervising wait for at most one small batch. Events are bounded by count already (`EventLog`);
 * dedupe claims and remote commands' answers expire on their own (those copied from an older
 * agent's `agent.kv` carry no expiry: Deno KV does not tell it). Each pass also keeps the log
 * folder under `[agent] log_dir_max` (the oldest rotated logs first, `logs/folder_cap.ts`),
 * removes the PID records of scripts taken out of the config while the agent was down (once their
 * process is gone), measures the store (`usage`: its size on disk and its oldest record) for
 * `status` and `/metrics`, and gives the memory the agent no longer uses back to the system
 * (`trimMemory`: the C heap's freed pages, the pages of its executable read only at start-up).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { KvHandle } from "../shared/kv/handle.ts";
import { pruneMessages } from "../shared/notify/outbox_prune.ts";
import { capLogFolder } from "./logs/folder_cap.ts";
import { giveBackMemory } from "../shared/trim_memory.ts";
import type { Clock } from "./clock.ts";
import type { StoreUsage } from "./local_api/status.ts";

const log = getLogger(["scriptmon", "agent"]);

/** How often the store is pruned. */
export const PRUNE_EVERY_MS = 10 * 60_000;

/** A status read measures the store again when its last measure is older than this. */
export const USAGE_FRESH_MS = 5_000;
/** How long after start-up the freed memory is first given back. */
const SETTLE_MS = 30_000;
/**
 * Messages deleted per batch, the agent's other work let in between (the store is synchronous: a
 * batch holds the agent's thread for its 20 commits); a pass stops after `MAX_BATCHES`.
 */
const BATCH = 20;
const MAX_BATCHES = 500;

/** What one pass deleted. */
export interface PruneResult {
  messages: number;
  /** Rotated log files deleted to keep the log folder under its cap. */
  logs: number;
  /** PID records of scripts no longer in the config whose process is gone. */
  records: number;
}

/** The agent's pruning; see the module comment. */
export class Retention {
  #kv: KvHandle;
  #clock: Clock;
  #historyMs: () => number;
  #path: string | null;
  #logs: { dir: string; maxBytes: () => number } | null;
  #staleRecords: () => Promise<string[]>;
  #stop = new AbortController();
  #loop: Promise<void> | null = null;
  #usage: StoreUsage | null = null;

  /**
   * `historyMs` is read at each pass, so a reloaded config applies at the next one; `path` is the
   * store's file, measured after each pass (null: not measured).
   */
  constructor(
    deps: {
      kv: KvHandle;
      clock: Clock;
      historyMs: () => number;
      path?: string | null;
      /** The log folder and its cap (none: not capped). */
      logs?: { dir: string; maxBytes: () => number };
      /** Removes the PID records of scripts removed from the config; returns their names. */
      staleRecords?: () => Promise<string[]>;
    },
  ) {
    this.#staleRecords = deps.staleRecords ?? (() => Promise.resolve([]));
    this.#logs = deps.logs ?? null;
    this.#kv = deps.kv;
    this.#clock = deps.clock;
    this.#historyMs = deps.historyMs;
    this.#path = deps.path ?? null;
  }

  /** The store as the last pass or {@linkcode Retention.fresh} found it (null before either). */
  get usage(): StoreUsage | null {
    return this.#usage;
  }

  /**
   * Measures the store again when the last measure is more than {@linkcode USAGE_FRESH_MS} old:
   * a status read just after start sees the records its scripts' first events made.
   */
  async fresh(): Promise<void> {
    const at = this.#usage === null ? -Infinity : Date.parse(this.#usage.at);
    if (this.#clock.now() - at > USAGE_FRESH_MS) this.#usage = await this.#measure();
  }

  /** Prunes now, then every `PRUNE_EVERY_MS` until `close()`. */
  start(): void {
    this.#loop ??= (async () => {
      let first = true;
      while (!this.#stop.signal.aborted) {
        try {
          const { messages, logs, records } = await this.prune();
          if (messages > 0) log.info("Pruned {messages} finished messages", { messages });
          if (logs > 0) {
            log.info("Deleted the {logs} oldest rotated logs: the log folder is capped", { logs });
          }
          if (records > 0) {
            log.info("Removed {records} PID records of scripts no longer in the config", {
              records,
            });
          }
        } catch (error) {
          log.error("Pruning the store failed: {error}", { error });
        }
        if (first) {
          // What start-up freed (a first start parses the agent's code) is given back once it has
          // settled, then after every pass.
          first = false;
          await this.#clock.sleep(SETTLE_MS, this.#stop.signal);
          if (!this.#stop.signal.aborted) await giveBackMemory(log);
          await this.#clock.sleep(PRUNE_EVERY_MS - SETTLE_MS, this.#stop.signal);
        } else {
          await giveBackMemory(log);
          await this.#clock.sleep(PRUNE_EVERY_MS, this.#stop.signal);
        }
      }
    })();
  }

  /** One pass: everything older than the history period, in batches; then the store measured. */
  async prune(): Promise<PruneResult> {
    const before = this.#clock.now() - this.#historyMs();
    let messages = 0;
    for (let batch = 0; batch < MAX_BATCHES && !this.#stop.signal.aborted; batch++) {
      const deleted = await pruneMessages(this.#kv, before, BATCH);
      messages += deleted;
      if (deleted < BATCH) break;
      await new Promise((r) => setTimeout(r, 0)); // let the agent's own work in between
    }
    const logs = this.#logs === null
      ? 0
      : (await capLogFolder(this.#logs.dir, this.#logs.maxBytes())).deleted.length;
    const records = (await this.#staleRecords()).length;
    this.#usage = await this.#measure();
    return { messages, logs, records };
  }

  async #measure(): Promise<StoreUsage> {
    const size = (file: string) => {
      try {
        return Deno.statSync(file).size;
      } catch {
        return 0; // no write-ahead log right now, or not a file store
      }
    };
    const bytes = this.#path === null ? 0 : size(this.#path) + size(`${this.#path}-wal`);
    const first = async <T>(prefix: Deno.KvKey, at: (value: T) => string | undefined) => {
      for await (const entry of this.#kv.list<T>({ prefix }, { limit: 1 })) return at(entry.value);
      return undefined;
    };
    const times = [
      await first<{ createdAt?: string }>(["outbox", "msg"], (m) => m.createdAt),
      await first<{ at?: string }>(["events"], (e) => e.at),
    ].filter((t): t is string => t !== undefined).sort();
    return {
      at: new Date(this.#clock.now()).toISOString(),
      bytes,
      oldestAt: times[0] ?? null,
      historyMs: this.#historyMs(),
    };
  }

  /** Stops pruning (a pass in progress ends after its batch). */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }
}
