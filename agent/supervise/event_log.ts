/**
 * The agent's event history in Deno KV: every state change of every script,
 * numbered per agent (`seq`) so the collector link can later replay them in
 * order. Appends are queued and written in batches off the hot path, so a
 * restart is never slowed down by a KV commit: the events of one turn of the
 * event loop share a commit, and a batch waits until {@linkcode WRITE_DELAY_MS}
 * after the previous one (a crash loop's events cost a few commits a second,
 * not one fsync each); {@linkcode EventLog.flush} writes at once.
 */
import type { CheckStatus } from "../health/types.ts";
import type { ScriptState } from "./state.ts";
import type { KvHandle } from "../../shared/kv/handle.ts";

/** One thing that happened to a script or to the agent. */
export interface AgentEvent {
  seq: number;
  /** ISO timestamp. */
  at: string;
  /** The script it concerns; absent for agent-wide events. */
  script?: string;
  /**
   * `state`: a transition; `exit`: a run ended; `check`: a health check's
   * result changed; the rest explain themselves.
   */
  kind: "state" | "exit" | "check" | "output-error" | "config" | "agent";
  state?: ScriptState;
  from?: ScriptState;
  pid?: number;
  exitCode?: number;
  signal?: string;
  reason?: string;
  /** For `check`: which check, its new and previous status, the value and threshold. */
  check?: string;
  status?: CheckStatus;
  previous?: CheckStatus;
  value?: number;
  threshold?: number;
  /** For `check`: the check's action asks for an alert (delivered by the notifications). */
  alert?: boolean;
  /** For `check`: the script was restarted because of it. */
  restarted?: boolean;
}

/** An event before it is numbered. */
export type NewEvent = Omit<AgentEvent, "seq" | "at"> & { at?: string };

/** How an {@linkcode EventLog} keeps its history. */
export interface EventLogOptions {
  /** Events kept when pruning (default 10,000). */
  retain?: number;
  /** Called when events cannot be stored. */
  onError?: (error: unknown) => void;
  /**
   * Pruning never deletes an event with a seq above this: the collector
   * link's acked seq, so an unsent event is not lost (default: no bound).
   */
  keepAfter?: () => number;
}

const KEY = "events";
const BATCH = 500;
/** The least time between two commits of events; an event waits at most this long. */
export const WRITE_DELAY_MS = 200;

/** Append-only, bounded event history backed by one KV handle. */
export class EventLog {
  #kv: KvHandle;
  #retain: number;
  #next = 1;
  #queue: AgentEvent[] = [];
  #writing: Promise<void> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastWriteAt = -Infinity;
  #listeners = new Set<(e: AgentEvent) => void>();
  #onError: (error: unknown) => void;
  #keepAfter: () => number;

  private constructor(kv: KvHandle, options: EventLogOptions) {
    this.#kv = kv;
    this.#retain = options.retain ?? 10_000;
    this.#onError = options.onError ?? (() => {});
    this.#keepAfter = options.keepAfter ?? (() => Infinity);
  }

  /** Opens the log on `kv`, continuing the numbering after its last event. */
  static async open(kv: KvHandle, options: EventLogOptions = {}): Promise<EventLog> {
    const log = new EventLog(kv, options);
    for await (const entry of kv.list<AgentEvent>({ prefix: [KEY] }, { reverse: true, limit: 1 })) {
      log.#next = Number(entry.key[1]) + 1;
    }
    return log;
  }

  /** Records an event: numbered and delivered to listeners at once, stored soon. */
  append(event: NewEvent): AgentEvent {
    const full = { ...event, seq: this.#next++, at: event.at ?? new Date().toISOString() };
    this.#queue.push(full);
    for (const listener of this.#listeners) listener(full);
    if (this.#writing === null && this.#timer === undefined) {
      const wait = Math.max(0, this.#lastWriteAt + WRITE_DELAY_MS - performance.now());
      this.#timer = setTimeout(() => this.#startDrain(), wait);
    }
    return full;
  }

  /** Calls `listener` for every event appended from now on; returns the unsubscribe. */
  subscribe(listener: (e: AgentEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves when every appended event is in KV (writing the waiting ones now). */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) this.#startDrain();
    while (this.#writing) await this.#writing;
  }

  /** Stored events, newest first. */
  async list(options: { script?: string; limit?: number } = {}): Promise<AgentEvent[]> {
    await this.flush();
    const limit = options.limit ?? 100;
    const out: AgentEvent[] = [];
    for await (const entry of this.#kv.list<AgentEvent>({ prefix: [KEY] }, { reverse: true })) {
      if (options.script && entry.value.script !== options.script) continue;
      out.push(entry.value);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** The seq of the last appended event (0 when none), stored or still queued. */
  get lastSeq(): number {
    return this.#next - 1;
  }

  /** Numbers the next event after `seq` at least (when another record has seen later seqs). */
  continueAfter(seq: number): void {
    this.#next = Math.max(this.#next, seq + 1);
  }

  /** Stored events with a seq above `seq`, oldest first, at most `limit`. */
  async listAfter(seq: number, limit: number): Promise<AgentEvent[]> {
    const out: AgentEvent[] = [];
    for await (const event of this.readAfter(seq)) {
      if (out.length >= limit) break;
      out.push(event);
    }
    return out;
  }

  /** Every stored event with a seq above `seq`, oldest first (after a flush). */
  async *readAfter(seq: number): AsyncGenerator<AgentEvent> {
    await this.flush();
    const selector = { prefix: [KEY], start: [KEY, seq + 1] };
    for await (const entry of this.#kv.list<AgentEvent>(selector, { batchSize: BATCH })) {
      yield entry.value;
    }
  }

  /** Deletes the events with these seqs (the collector link's spool dropping samples). */
  async remove(seqs: readonly number[]): Promise<void> {
    await this.flush();
    for (let i = 0; i < seqs.length; i += BATCH) {
      const op = this.#kv.atomic();
      for (const seq of seqs.slice(i, i + BATCH)) op.delete([KEY, seq]);
      await op.commit();
    }
  }

  #startDrain(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#writing ??= this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        this.#lastWriteAt = performance.now();
        const batch = this.#queue.splice(0, BATCH);
        await this.#commit(batch);
      }
    } finally {
      this.#writing = null;
    }
  }

  async #commit(batch: AgentEvent[]): Promise<void> {
    const op = this.#kv.atomic();
    for (const e of batch) op.set([KEY, e.seq], e);
    const last = batch[batch.length - 1].seq;
    const before = Math.min(last - this.#retain, this.#keepAfter() + 1);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await op.commit();
        if (before > 0 && batch.some((e) => e.seq % 1000 === 0)) await this.#prune(before);
        return;
      } catch (error) {
        // Several processes may share the file: "database is locked" is transient.
        if (attempt === 4) this.#onError(error);
        else await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
      }
    }
  }

  async #prune(before: number): Promise<void> {
    let op = this.#kv.atomic();
    let n = 0;
    for await (const entry of this.#kv.list({ start: [KEY, 0], end: [KEY, before] })) {
      op.delete(entry.key);
      if (++n % 900 === 0) {
        await op.commit();
        op = this.#kv.atomic();
      }
    }
    await op.commit();
  }
}
