/**
 * Keeps the agent's store from growing for as long as the agent runs: every `PRUNE_EVERY_MS`
 * it deletes the finished messages of the outbox older than `[agent] history` (default 14 days),
 * a batch at a time with a pause between batches, so relaying and supervising never wait for it.
 * Events are bounded by count already (`EventLog`), dedupe claims and remote commands' answers
 * expire on their own.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { KvHandle } from "../shared/kv/handle.ts";
import { pruneMessages } from "../shared/notify/outbox_prune.ts";
import type { Clock } from "./clock.ts";

const log = getLogger(["scriptmon", "agent"]);

/** How often the store is pruned. */
export const PRUNE_EVERY_MS = 10 * 60_000;
/** Messages deleted per commit batch; a pass stops after `MAX_BATCHES` (the next one goes on). */
const BATCH = 200;
const MAX_BATCHES = 50;

/** What one pass deleted. */
export interface PruneResult {
  messages: number;
}

/** The agent's pruning; see the module comment. */
export class Retention {
  #kv: KvHandle;
  #clock: Clock;
  #historyMs: () => number;
  #stop = new AbortController();
  #loop: Promise<void> | null = null;

  /** `historyMs` is read at each pass, so a reloaded config applies at the next one. */
  constructor(deps: { kv: KvHandle; clock: Clock; historyMs: () => number }) {
    this.#kv = deps.kv;
    this.#clock = deps.clock;
    this.#historyMs = deps.historyMs;
  }

  /** Prunes now, then every `PRUNE_EVERY_MS` until `close()`. */
  start(): void {
    this.#loop ??= (async () => {
      while (!this.#stop.signal.aborted) {
        try {
          const { messages } = await this.prune();
          if (messages > 0) log.info("Pruned {messages} finished messages", { messages });
        } catch (error) {
          log.error("Pruning the store failed: {error}", { error });
        }
        await this.#clock.sleep(PRUNE_EVERY_MS, this.#stop.signal);
      }
    })();
  }

  /** One pass: everything older than the history period, in batches. */
  async prune(): Promise<PruneResult> {
    const before = this.#clock.now() - this.#historyMs();
    let messages = 0;
    for (let batch = 0; batch < MAX_BATCHES && !this.#stop.signal.aborted; batch++) {
      const deleted = await pruneMessages(this.#kv, before, BATCH);
      messages += deleted;
      if (deleted < BATCH) break;
      await new Promise((r) => setTimeout(r, 0)); // let the agent's own work in between
    }
    return { messages };
  }

  /** Stops pruning (a pass in progress ends after its batch). */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }
}
