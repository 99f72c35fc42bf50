/**
 * The collector link's spool: the events of the agent's {@linkcode EventLog}
 * the collector has not acknowledged yet. The events stay where they are (in
 * KV, numbered by seq); the spool remembers the acked seq (in KV too, so a
 * restart resumes where it stopped) and keeps the unacked part bounded:
 * beyond `limit` events it drops the oldest resource samples, never a state
 * change, an exit or anything else, and counts what it dropped.
 *
 * @module
 */
import type { WireEvent } from "../../shared/protocol.ts";
import type { AgentEvent, EventLog } from "../supervise/event_log.ts";
import type { KvHandle } from "../../shared/kv/handle.ts";

/** Checks whose events are resource samples: the only events the spool may drop. */
export const RESOURCE_CHECKS: readonly string[] = ["memory", "cpu", "agent-memory"];

/** True for an event the spool may drop when it is over its limit. */
export function isResourceSample(event: AgentEvent): boolean {
  return event.kind === "check" && event.check !== undefined &&
    RESOURCE_CHECKS.includes(event.check);
}

/** What a spool is made of. */
export interface SpoolOptions {
  kv: KvHandle;
  events: EventLog;
  /** Unacked events kept before resource samples are dropped. */
  limit: number;
}

/** What one {@linkcode Spool.trim} did. */
export interface TrimResult {
  /** Unacked events stored before the trim. */
  before: number;
  /** Resource samples deleted. */
  dropped: number;
  /** Unacked events stored after it (may stay over the limit when nothing could go). */
  after: number;
}

/** Where the acked seq is kept. */
export const ACKED_KEY: Deno.KvKey = ["link", "acked"];

/** A range of seqs, both ends included. */
type Range = [number, number];

/** The unacked events of an event log; see the module comment. */
export class Spool {
  #kv: KvHandle;
  #events: EventLog;
  #limit: number;
  #acked = 0;
  /** Seqs above the acked one that are not stored (dropped or never written), merged. */
  #holes: Range[] = [];
  #dropped = 0;
  /** After a trim that could not get under the limit: the next trim waits for this many. */
  #trimAt = 0;

  private constructor(options: SpoolOptions) {
    this.#kv = options.kv;
    this.#events = options.events;
    this.#limit = options.limit;
  }

  /** Opens the spool, reading the acked seq an earlier run stored. */
  static async open(options: SpoolOptions): Promise<Spool> {
    const spool = new Spool(options);
    const saved = await options.kv.get<number>(ACKED_KEY);
    spool.#acked = typeof saved.value === "number" ? saved.value : 0;
    return spool;
  }

  /** Every event up to this seq is stored at the collector. */
  get ackedSeq(): number {
    return this.#acked;
  }

  /** Unacked events (exact after a trim, otherwise an upper bound). */
  get pending(): number {
    let missing = 0;
    for (const [from, to] of this.#holes) missing += to - from + 1;
    return Math.max(0, this.#events.lastSeq - this.#acked - missing);
  }

  /** Resource samples dropped since the spool was opened. */
  get dropped(): number {
    return this.#dropped;
  }

  /** The unacked events are over the limit: {@linkcode trim} should run. */
  needsTrim(): boolean {
    return this.pending > Math.max(this.#limit, this.#trimAt);
  }

  /** The oldest unacked events, in seq order, at most `limit`. */
  next(limit: number): Promise<AgentEvent[]> {
    return this.#events.listAfter(this.#acked, limit);
  }

  /**
   * The next ingest's events: the oldest unacked ones, on the wire, with
   * markers for the seqs missing among them (see {@linkcode withGapMarkers}).
   */
  async nextBatch(limit: number): Promise<WireEvent[]> {
    return withGapMarkers(this.#acked, await this.next(limit), limit);
  }

  /** The collector stored every event up to `seq`: remember it (in KV too). */
  async ack(seq: number): Promise<void> {
    if (seq < this.#acked) this.#holes = []; // unknown below: recounted by the next trim
    this.#acked = seq;
    this.#holes = this.#holes.filter(([, to]) => to > seq).map(([from, to]) => [
      Math.max(from, seq + 1),
      to,
    ]);
    await this.#kv.set(ACKED_KEY, seq);
  }

  /**
   * Counts the unacked events and, when they are over the limit, deletes the
   * oldest resource samples until they are a tenth under it (so that the
   * next trim is some way off).
   */
  async trim(): Promise<TrimResult> {
    const acked = this.#acked;
    const samples: number[] = [];
    const holes: Range[] = [];
    let expected = acked + 1;
    let before = 0;
    for await (const event of this.#events.readAfter(acked)) {
      if (event.seq > expected) holes.push([expected, event.seq - 1]);
      expected = event.seq + 1;
      before++;
      if (isResourceSample(event)) samples.push(event.seq);
    }
    const slack = Math.floor(this.#limit / 10);
    const excess = before > this.#limit ? before - (this.#limit - slack) : 0;
    const drop = samples.slice(0, Math.min(excess, samples.length));
    if (drop.length > 0) await this.#events.remove(drop);
    if (this.#acked === acked) {
      this.#holes = merge([...holes, ...drop.map((seq): Range => [seq, seq])]);
    }
    this.#dropped += drop.length;
    const after = before - drop.length;
    this.#trimAt = after > this.#limit ? after + Math.max(1, slack) : 0;
    return { before, dropped: drop.length, after };
  }
}

/** The `kind` of the wire event that stands for a seq the agent no longer has. */
export const DROPPED_KIND = "dropped";

/**
 * The events to send after `acked`: `batch` (stored events in seq order)
 * with a {@linkcode DROPPED_KIND} marker for every seq missing before or
 * between them (a resource sample the spool dropped, history pruned before
 * the link was set up), so the collector's contiguous ack moves past it. At
 * most `limit` in all.
 */
export function withGapMarkers(acked: number, batch: AgentEvent[], limit: number): WireEvent[] {
  const out: WireEvent[] = [];
  let expected = acked + 1;
  for (const event of batch) {
    for (; expected < event.seq && out.length < limit; expected++) {
      out.push({ seq: expected, at: event.at, kind: DROPPED_KIND, data: {} });
    }
    if (out.length >= limit) break;
    out.push(toWireEvent(event));
    expected = event.seq + 1;
  }
  return out;
}

/** An agent event on the wire: everything but seq, at, kind and script goes in `data`. */
export function toWireEvent(event: AgentEvent): WireEvent {
  const { seq, at, kind, script, ...data } = event;
  return { seq, at, kind, ...(script === undefined ? {} : { script }), data };
}

/** Sorts and merges ranges that overlap or touch. */
function merge(ranges: Range[]): Range[] {
  const sorted = ranges.toSorted((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  for (const [from, to] of sorted) {
    const last = out.at(-1);
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}
