/**
 * Log lines fetched from agents through the command channel: a `logs`
 * command is queued like any other, and the request that queued it waits
 * here, in memory, for the agent's ack. The lines never reach the store
 * (one KV value holds at most 64 KiB): the ingest route hands them over by
 * command id before the ack is stored. Also remembers which agents said
 * (`X-Scriptmon-Features: logs`) that they answer `logs` commands, as older
 * agents refuse an ingest answer that holds one.
 *
 * @module
 */

import type { CommandAck, LogsPayload } from "../../shared/protocol.ts";

/** What a wait for a `logs` answer ended with. */
export type LogsOutcome =
  | { kind: "answer"; ok: boolean; message: string; logs: LogsPayload | null }
  | { kind: "timeout" }
  | { kind: "closed" };

/** Pending `logs` answers by command id, at most `max` at once. */
export class LogRequests {
  #pending = new Map<string, (outcome: LogsOutcome) => void>();
  /** `site/host` of the agent each pending request asked. */
  #agents = new Map<string, string>();
  #capable = new Set<string>();
  #max: number;

  /** `max`: requests waiting at once. */
  constructor(options: { max?: number } = {}) {
    this.#max = options.max ?? 200;
  }

  /** Requests waiting now. */
  get size(): number {
    return this.#pending.size;
  }

  /** Records the features header of a request from agent `site/host`. */
  noteFeatures(site: string, host: string, header: string | undefined): void {
    const key = `${site}/${host}`;
    const features = (header ?? "").split(",").map((f) => f.trim().toLowerCase());
    if (features.includes("logs")) this.#capable.add(key);
    else this.#capable.delete(key);
  }

  /** Whether agent `site/host` said (since this collector started) that it answers `logs`. */
  canServe(site: string, host: string): boolean {
    return this.#capable.has(`${site}/${host}`);
  }

  /** Whether another wait may start now. */
  hasRoom(): boolean {
    return this.#pending.size < this.#max;
  }

  /**
   * Waits at most `ms` for the ack of command `id` (register right after
   * queueing it: an ack cannot come before the agent was woken).
   */
  wait(
    id: string,
    ms: number,
    signal?: AbortSignal,
    agent?: { site: string; host: string },
  ): Promise<LogsOutcome> {
    return new Promise((resolve) => {
      const finish = (outcome: LogsOutcome) => {
        if (this.#pending.get(id) !== finish) return;
        this.#pending.delete(id);
        this.#agents.delete(id);
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve(outcome);
      };
      const onAbort = () => finish({ kind: "closed" });
      const timer = setTimeout(() => finish({ kind: "timeout" }), ms);
      this.#pending.set(id, finish);
      if (agent !== undefined) this.#agents.set(id, `${agent.site}/${agent.host}`);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Hands each ack with log lines to the request waiting for it and returns
   * the acks without them (for the store). Acks nobody waits for lose
   * their lines too.
   */
  take(acks: CommandAck[], from?: { site: string; host: string }): CommandAck[] {
    return acks.map((ack) => {
      // Only the agent that was asked answers: another one's lines for this id are dropped.
      const asked = this.#agents.get(ack.id);
      const mine = asked === undefined || from === undefined ||
        asked === `${from.site}/${from.host}`;
      const finish = mine ? this.#pending.get(ack.id) : undefined;
      finish?.({ kind: "answer", ok: ack.ok, message: ack.message, logs: ack.logs ?? null });
      if (ack.logs === undefined) return ack;
      const { logs: _logs, ...rest } = ack;
      return rest;
    });
  }

  /** Ends every wait (shutdown). */
  closeAll(): void {
    for (const finish of [...this.#pending.values()]) finish({ kind: "closed" });
  }
}
