/**
 * Remote commands, queued per agent until acked or expired. Keys:
 * `["command", site, host, id]` → {@linkcode CommandRecord};
 * `["command_pending", site, host, id]` → id; `["command_flag", site, host]`
 * is set while an agent may have pending commands, so that ingest reads it
 * with the agent record and lists the queue only when it is set.
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv/handle.ts";
import type { Command, CommandAck, LogsParams } from "../../shared/protocol.ts";
import { retryLocked } from "./kv_retry.ts";
import type { CommandRecord } from "./types.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * `logs` commands (a log viewer sends one every 2 s while open) are kept an
 * hour, long enough to look one up; the others 30 days, as long as the
 * events by default (a gone agent's unanswered ones too).
 */
export const LOGS_COMMAND_KEEP_MS = 3_600_000;
/** How long a command other than `logs` is kept. */
export const COMMAND_KEEP_MS = 30 * 86_400_000;

/** The KV options of a command record. */
function keep(command: CommandRecord): { expireIn: number } {
  return { expireIn: command.action === "logs" ? LOGS_COMMAND_KEEP_MS : COMMAND_KEEP_MS };
}

/** Options of {@linkcode CommandStore.queue}. */
export interface QueueCommandOptions {
  site: string;
  host: string;
  action: Command["action"];
  script: string;
  /** Only with `logs`. */
  params?: LogsParams;
  /** Who asked (API token name, user). */
  requestedBy: string;
  ttlMs: number;
  now: number;
}

/** The command queues of every agent. */
export class CommandStore {
  #kv: KvHandle;
  #newId: (now: number) => string;
  #listeners = new Set<(command: CommandRecord) => void>();

  /** `newId` makes ids that sort by time. */
  constructor(kv: KvHandle, newId: (now: number) => string) {
    this.#kv = kv;
    this.#newId = newId;
  }

  /** Calls `listener` after every queued command; returns the function that stops it. */
  onQueued(listener: (command: CommandRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Queues a command for one agent, pending until acked or `ttlMs` passes. */
  async queue(options: QueueCommandOptions): Promise<CommandRecord> {
    // Ids sort in queue order.
    const id = this.#newId(options.now);
    const command: CommandRecord = {
      id,
      action: options.action,
      ...(options.params === undefined ? {} : { params: options.params }),
      script: options.script,
      expiresAt: iso(options.now + options.ttlMs),
      requestedBy: options.requestedBy,
      site: options.site,
      host: options.host,
      createdAt: iso(options.now),
      state: "pending",
      result: null,
    };
    await retryLocked(() =>
      this.#kv.atomic()
        .set(["command", options.site, options.host, id], command, keep(command))
        .set(["command_pending", options.site, options.host, id], id, keep(command))
        .set(["command_flag", options.site, options.host], id)
        .commit()
    );
    for (const listener of this.#listeners) listener(command);
    return command;
  }

  /** One command, or null. */
  async get(site: string, host: string, id: string): Promise<CommandRecord | null> {
    return (await retryLocked(() => this.#kv.get<CommandRecord>(["command", site, host, id])))
      .value;
  }

  /** An agent's pending commands not expired at `now`, oldest first; expired ones are marked so. */
  async pending(site: string, host: string, now: number): Promise<CommandRecord[]> {
    const flagKey = ["command_flag", site, host];
    const flag = await retryLocked(() => this.#kv.get<string>(flagKey));
    const ids: string[] = [];
    for await (const entry of this.#kv.list<string>({ prefix: ["command_pending", site, host] })) {
      ids.push(entry.value);
    }
    const pending: CommandRecord[] = [];
    for (let i = 0; i < ids.length; i += 10) {
      const keys = ids.slice(i, i + 10).map((id) => ["command", site, host, id]);
      for (const entry of await this.#kv.getMany<CommandRecord[]>(keys)) {
        const command = entry.value;
        if (command === null || command.state !== "pending") continue;
        if (Date.parse(command.expiresAt) > now) {
          pending.push(command);
          continue;
        }
        await retryLocked(() =>
          this.#kv.atomic()
            .check(entry)
            .set(entry.key, { ...command, state: "expired" }, keep(command))
            .delete(["command_pending", site, host, command.id])
            .commit()
        );
      }
    }
    if (pending.length === 0 && flag.versionstamp !== null) {
      // Nothing pending: lower the flag unless a command was queued meanwhile.
      await retryLocked(() => this.#kv.atomic().check(flag).delete(flagKey).commit());
    }
    return pending;
  }

  /** Records the agent's acks; returns the commands they completed (unknown ids are skipped). */
  async ack(
    site: string,
    host: string,
    acks: readonly CommandAck[],
  ): Promise<CommandRecord[]> {
    const done: CommandRecord[] = [];
    for (const ack of acks) {
      const key = ["command", site, host, ack.id];
      const entry = await retryLocked(() => this.#kv.get<CommandRecord>(key));
      if (entry.value === null || entry.value.state === "done") continue;
      const command: CommandRecord = {
        ...entry.value,
        state: "done",
        result: { ok: ack.ok, message: ack.message, at: ack.at },
      };
      const result = await retryLocked(() =>
        this.#kv.atomic()
          .check(entry)
          .set(key, command, keep(command))
          .delete(["command_pending", site, host, ack.id])
          .commit()
      );
      if (result.ok) done.push(command);
    }
    return done;
  }
}
