/**
 * The durable outbox: every notification is claimed by its dedupe key and
 * queued in Deno KV in one atomic commit, then delivered by one worker per
 * channel, strictly in order, with backoff, rate limits and a maximum age.
 *
 * "Zero duplicates, nothing lost": a message is marked "sending" before the
 * channel is called and "sent" after; one found in "sending" at start was
 * interrupted between the two, so whether the provider got it is unknown.
 * It becomes "uncertain" and is not sent again (or, with `onUncertain:
 * "resend"`, queued again). Several processes may enqueue into one KV file;
 * one process delivers (the agent's instance lock sees to that; among the
 * collector's replicas, the leader, its moves fenced by its lease).
 *
 * Longer than 500 lines because the lanes' state machine (claim, send, settle,
 * back off, recover, change channels while running) shares one set of lanes
 * and waiters; its store, ids and options are already apart (`_outbox_*.ts`).
 */
import type { KvHandle } from "../kv/handle.ts";
import { getLogger } from "@logtape/logtape";
import { redact } from "../redact.ts";
import { formatDuration } from "../config/units.ts";
import {
  cut,
  encodePayload,
  FINAL_STATES,
  IdSource,
  MAX_PAYLOAD_BYTES,
  OutboxStore,
  storedDedupeKey,
  type StoredRecord,
  type VersionedRecord,
} from "./_outbox_store.ts";
import type { Channel, MessageRecord, MessageState, Payload, SendResult } from "./types.ts";

import {
  type ChannelPolicy,
  type Clock,
  DEFAULT_POLICY,
  DEFAULT_RETRY,
  type EnqueueInput,
  type Lane,
  type ListFilter,
  listTime,
  MAX_RELAY_BODY_BYTES,
  MAX_SLEEP_MS,
  newLane,
  type OutboxChange,
  type OutboxOptions,
  realClock,
  retryDelay,
  type RetryPolicy,
} from "./_outbox_options.ts";

export type {
  ChannelPolicy,
  Clock,
  EnqueueInput,
  ListFilter,
  OutboxChange,
  OutboxOptions,
  RetryPolicy,
} from "./_outbox_options.ts";
export { MAX_RELAY_BODY_BYTES } from "./_outbox_options.ts";

const log = getLogger(["scriptmon", "notify", "outbox"]);
const ANSWER_MAX = 2048;
const ERROR_PAUSE_MS = 1000;
const CONFLICT_PAUSE_MS = 100;

/** The durable outbox; see the module comment. */
export class Outbox {
  #store: OutboxStore;
  #ids = new IdSource();
  #channels: ReadonlyMap<string, Channel>;
  #clock: Clock;
  #retry: RetryPolicy;
  #policy: (channel: string) => ChannelPolicy;
  #pollMs: number;
  #onChange: (change: OutboxChange) => void;
  #random: () => number;
  #lanes = new Map<string, Lane>();
  #running: Promise<void> | null = null;
  /** Set once recovery is done and the lanes' workers run; later lanes get theirs at once. */
  #delivering = false;
  #workers = new Set<Promise<void>>();
  #stopping = new AbortController();
  #abortSends = new AbortController();
  #changeWaiters = new Set<() => void>();

  /** Works on `kv` (opened by the caller); nothing happens before start(). */
  constructor(kv: KvHandle, options: OutboxOptions) {
    this.#store = new OutboxStore(kv, options.fence);
    this.#channels = new Map(options.channels);
    this.#clock = options.clock ?? realClock;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#policy = options.channelPolicy ?? (() => DEFAULT_POLICY);
    this.#pollMs = options.pollMs ?? 1000;
    this.#onChange = options.onChange ?? (() => {});
    this.#random = options.random ?? Math.random;
  }

  /** The channels (webhook names) this outbox delivers to. */
  channelNames(): string[] {
    return [...this.#channels.keys()];
  }

  /**
   * Replaces the channels while running (a webhook edited, added or removed). A lane whose
   * channel changed uses the new one, and reads its policy again, from its next attempt (one in
   * flight finishes on the old); a new name gets a lane; a removed name's lane stops after its
   * attempt in flight, and its queued messages wait in the KV until a channel of that name is
   * set again.
   */
  setChannels(channels: ReadonlyMap<string, Channel>): void {
    this.#channels = new Map(channels);
    if (!this.#running || this.#stopping.signal.aborted) return;
    for (const [name, lane] of this.#lanes) {
      if (channels.has(name)) continue;
      lane.removed = true;
      lane.interrupt?.();
      // Before recovery ends no worker runs yet to take its lane out.
      if (!this.#delivering) this.#lanes.delete(name);
    }
    for (const [name, channel] of channels) {
      const lane = this.#lanes.get(name);
      if (!lane) {
        this.#lanes.set(name, newLane(channel, this.#policy(name)));
        if (this.#delivering) this.#spawn(name);
        continue;
      }
      lane.channel = channel;
      lane.policy = this.#policy(name);
      if (lane.removed) {
        // Set again before its worker stopped: the same worker goes on.
        lane.removed = false;
        lane.dirty = true;
      }
    }
    this.#notifyChange();
  }

  /**
   * Claims `dedupeKey` atomically and queues the message; a key already
   * claimed (within `dedupeWindowMs` when given, else forever) is a
   * duplicate: nothing is queued and the existing message's id is returned.
   */
  async enqueue(input: EnqueueInput): Promise<{ id: string; duplicate: boolean }> {
    const queued = input.state === undefined;
    if (queued && !this.#channels.has(input.channel)) {
      throw new RangeError(
        `Cannot queue a message for channel "${input.channel}": no such channel (known: ${
          [...this.#channels.keys()].join(", ") || "none"
        })`,
      );
    }
    if (input.payload.type === "relay") {
      const size = new TextEncoder().encode(input.payload.post.body).length;
      if (size > MAX_RELAY_BODY_BYTES) {
        throw new RangeError(
          `Cannot queue a relayed post for channel "${input.channel}": its body is ${size} bytes, more than the ${MAX_RELAY_BODY_BYTES} the outbox keeps`,
        );
      }
    }
    const payload = encodePayload(input.payload);
    if (payload.length > MAX_PAYLOAD_BYTES) {
      throw new RangeError(
        `Cannot queue a message for channel "${input.channel}": its payload is ${payload.length} bytes encoded, more than the ${MAX_PAYLOAD_BYTES} a KV value holds`,
      );
    }
    const nowMs = this.#clock.now();
    const result = await this.#store.claim({
      id: this.#ids.next(nowMs),
      channel: input.channel,
      dedupeKey: input.dedupeKey,
      claimKey: await storedDedupeKey(input.dedupeKey),
      payload,
      state: input.state ?? "queued",
      ...(input.note ? { note: input.note } : {}),
      ...(input.dedupeWindowMs !== undefined ? { windowMs: input.dedupeWindowMs } : {}),
      unclaimed: !queued,
      nowMs,
    });
    if (!result.duplicate) {
      this.#onChange({
        id: result.id,
        channel: input.channel,
        state: input.state ?? "queued",
        attempts: 0,
      });
      const lane = this.#lanes.get(input.channel);
      if (lane && queued) {
        lane.dirty = true;
        lane.wake?.();
      }
    }
    return result;
  }

  /** Recovers messages interrupted mid-send, then delivers; idempotent. */
  start(): void {
    if (this.#running || this.#stopping.signal.aborted) return;
    for (const [name, channel] of this.#channels) {
      this.#lanes.set(name, newLane(channel, this.#policy(name)));
    }
    this.#running = (async () => {
      await this.#recover();
      if (this.#stopping.signal.aborted) return;
      this.#delivering = true;
      for (const name of this.#lanes.keys()) this.#spawn(name);
    })();
  }

  /**
   * Stops the workers. An attempt in flight gets `graceMs` (default 2000)
   * to finish; after that it is aborted and treated as interrupted
   * (uncertain, or queued again with onUncertain "resend").
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    this.#stopping.abort();
    for (const lane of this.#lanes.values()) lane.wake?.();
    this.#notifyChange();
    if (this.#running) {
      const grace = new AbortController();
      await Promise.race([
        this.#stopped(),
        this.#clock.sleep(options.graceMs ?? 2000, grace.signal),
      ]);
      grace.abort();
      this.#abortSends.abort();
      await this.#stopped();
    }
  }

  /** Resolves when recovery and every worker ended (after close() began: none starts anew). */
  async #stopped(): Promise<void> {
    await this.#running;
    while (this.#workers.size > 0) await Promise.all(this.#workers);
  }

  /** The message `id` with its payload and history, or null. */
  async get(id: string): Promise<MessageRecord | null> {
    return (await this.#store.full([id]))[0] ?? null;
  }

  /** Messages newest first. */
  async list(filter: ListFilter = {}): Promise<MessageRecord[]> {
    const sinceMs = listTime(filter, "since");
    const untilMs = listTime(filter, "until");
    return await this.#store.list({
      ...(sinceMs !== undefined ? { sinceMs } : {}),
      ...(untilMs !== undefined ? { untilMs } : {}),
      ...(filter.before !== undefined ? { before: filter.before } : {}),
      ...(filter.state ? { state: filter.state } : {}),
      ...(filter.channel !== undefined ? { channel: filter.channel } : {}),
      limit: filter.limit ?? 100,
    });
  }

  /** How many messages are in each state. */
  counts(): Promise<Record<MessageState, number>> {
    return this.#store.counts();
  }

  /**
   * Resolves when no configured channel has a pending message (every
   * message queued so far reached a final state); needs start(). Rejects
   * when the outbox closes first.
   */
  async idle(): Promise<void> {
    for (;;) {
      const changed = new Promise<void>((resolve) => this.#changeWaiters.add(resolve));
      let pending = false;
      for (const name of this.#channels.keys()) {
        if (await this.#store.head(name)) pending = true;
      }
      if (!pending) return;
      if (this.#stopping.signal.aborted) {
        throw new Error("The outbox closed while messages were still pending");
      }
      await changed;
    }
  }

  #notifyChange(): void {
    const waiters = [...this.#changeWaiters];
    this.#changeWaiters.clear();
    for (const resolve of waiters) resolve();
  }

  async #move(
    current: VersionedRecord,
    change: { state: MessageState; note?: string; patch?: Partial<StoredRecord> },
  ): Promise<VersionedRecord | null> {
    const next = await this.#store.transition(current, { ...change, nowMs: this.#clock.now() });
    if (next) {
      const { id, channel, state, attempts } = next.record;
      try {
        this.#onChange({ id, channel, state, attempts });
      } catch (error) {
        log.warn("An outbox onChange listener threw: {error}", { error });
      }
      this.#notifyChange();
    }
    return next;
  }

  /** Every message found in "sending" was interrupted between send and mark. */
  async #recover(): Promise<void> {
    try {
      for (const id of await this.#store.idsIn("sending")) {
        const current = await this.#store.record(id);
        if (current?.record.state !== "sending") continue;
        await this.#interrupted(
          current,
          this.#lanes.get(current.record.channel)?.policy ?? this.#policy(current.record.channel),
          "found in sending at start: the last run stopped between the send and its answer",
        );
      }
    } catch (error) {
      log.error("Outbox recovery failed: {error}", { error });
    }
  }

  async #interrupted(current: VersionedRecord, policy: ChannelPolicy, why: string): Promise<void> {
    const { id, channel } = current.record;
    if (policy.onUncertain === "resend") {
      await this.#move(current, {
        state: "queued",
        note: `${why}; queued again (onUncertain resend)`,
      });
      log.warn("Message {id} to {channel} was interrupted mid-send; queued again", { id, channel });
    } else {
      await this.#move(current, {
        state: "uncertain",
        note: `${why}; the provider may or may not have it, not sent again (onUncertain skip)`,
      });
      log.warn("Message {id} to {channel} was interrupted mid-send; marked uncertain", {
        id,
        channel,
      });
    }
  }

  /**
   * Waits `ms` or until stopped or the lane is removed (or, when `wakeable`, until a message is
   * queued here).
   */
  async #wait(lane: Lane, ms: number, options: { wakeable: boolean }): Promise<void> {
    if (this.#stopping.signal.aborted || lane.removed || (options.wakeable && lane.dirty)) return;
    const ctl = new AbortController();
    const abort = () => ctl.abort();
    this.#stopping.signal.addEventListener("abort", abort, { once: true });
    lane.interrupt = abort;
    if (options.wakeable) lane.wake = abort;
    try {
      await this.#clock.sleep(Math.min(Math.max(0, ms), MAX_SLEEP_MS), ctl.signal);
    } finally {
      this.#stopping.signal.removeEventListener("abort", abort);
      lane.interrupt = null;
      if (options.wakeable) lane.wake = null;
    }
  }

  /** Starts the worker of lane `name`, kept until it ends for close() to await. */
  #spawn(name: string): void {
    const worker: Promise<void> = this.#work(name, this.#lanes.get(name)!)
      .finally(() => this.#workers.delete(worker));
    this.#workers.add(worker);
  }

  async #work(name: string, lane: Lane): Promise<void> {
    // Bounded by close() or the lane's removal: each round delivers, waits, or pauses after an error.
    while (!this.#stopping.signal.aborted && !lane.removed) {
      try {
        await this.#step(name, lane);
      } catch (error) {
        log.error("Outbox worker for {channel} failed: {error}", { channel: name, error });
        await this.#wait(lane, ERROR_PAUSE_MS, { wakeable: false });
      }
    }
    // In the same turn as the check above: a setChannels() after this makes a new lane and worker.
    if (lane.removed && this.#lanes.get(name) === lane) this.#lanes.delete(name);
  }

  /** One round of a channel's worker: look at the head of its queue and act on it. */
  async #step(name: string, lane: Lane): Promise<void> {
    lane.dirty = false;
    const id = await this.#store.head(name);
    if (!id) {
      this.#notifyChange();
      return await this.#wait(lane, this.#pollMs, { wakeable: true });
    }
    const current = await this.#store.record(id);
    if (!current) {
      log.warn("Queue entry {id} of {channel} has no message", { id, channel: name });
      await this.#wait(lane, ERROR_PAUSE_MS, { wakeable: false });
      return;
    }
    const { record } = current;
    if (FINAL_STATES.has(record.state)) return await this.#store.dequeue(record);
    if (record.state === "sending") {
      // Left so by another run (this worker awaits its own sends): never sent again blindly.
      return await this.#interrupted(current, lane.policy, "found in sending");
    }
    const now = this.#clock.now();
    const deadline = Date.parse(record.createdAt) + lane.policy.maxAgeMs;
    if (now >= deadline) {
      await this.#move(current, {
        state: "dead-lettered",
        note: `not sent within ${
          formatDuration(lane.policy.maxAgeMs)
        } after ${record.attempts} attempts`,
      });
      log.error("Message {id} to {channel} dead-lettered after {attempts} attempts", {
        id,
        channel: name,
        attempts: record.attempts,
      });
      return;
    }
    if (record.state === "retrying" && record.nextAttemptAt) {
      const due = Date.parse(record.nextAttemptAt);
      if (due > now) {
        return await this.#wait(lane, Math.min(due, deadline) - now, { wakeable: false });
      }
    }
    const limit = lane.policy.rateLimit;
    if (limit) {
      lane.sends = lane.sends.filter((t) => now - t < limit.perMs);
      if (lane.sends.length >= limit.count) {
        const free = lane.sends[lane.sends.length - limit.count] + limit.perMs;
        return await this.#wait(lane, Math.min(free, deadline) - now, { wakeable: false });
      }
    }
    await this.#deliver(current, lane);
  }

  async #deliver(current: VersionedRecord, lane: Lane): Promise<void> {
    const { id, channel } = current.record;
    const payload = await this.#store.payload(id);
    if (!payload) {
      await this.#move(current, { state: "failed", note: "the stored payload is missing" });
      log.error("Message {id} to {channel} failed: payload missing", { id, channel });
      return;
    }
    if (this.#stopping.signal.aborted || lane.removed) return;
    const sending = await this.#move(current, {
      state: "sending",
      note: `attempt ${current.record.attempts + 1}`,
      patch: { attempts: current.record.attempts + 1 },
    });
    // Changed meanwhile, or fenced (no longer the leader): read again after a pause (no spinning).
    if (!sending) return await this.#wait(lane, CONFLICT_PAUSE_MS, { wakeable: false });
    lane.inflight = id;
    // Send times are kept only to hold a rate limit (and only its window's, above): kept without
    // one, they grew by one per message for as long as the agent ran.
    if (lane.policy.rateLimit) lane.sends.push(this.#clock.now());
    const result = await this.#send(lane.channel, payload, id);
    lane.inflight = null;
    if (result === null || (!result.ok && this.#abortSends.signal.aborted)) {
      return await this.#interrupted(
        sending,
        lane.policy,
        "interrupted by close() during the send",
      );
    }
    if (!result.ok && result.uncertain) {
      // Never a blind retry: whether the provider got it is unknown.
      return await this.#interrupted(sending, lane.policy, result.error);
    }
    await this.#settle(sending, result);
  }

  /** The channel's answer, or null when close() gave up waiting for it. */
  async #send(channel: Channel, payload: Payload, id: string): Promise<SendResult | null> {
    const signal = this.#abortSends.signal;
    if (signal.aborted) return null;
    let onAbort = () => {};
    const aborted = new Promise<null>((resolve) => {
      onAbort = () => resolve(null);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([
        channel.send(payload, { signal, id }).catch((error: unknown): SendResult => ({
          ok: false,
          retryable: true,
          error: `the channel threw: ${error instanceof Error ? error.message : String(error)}`,
        })),
        aborted,
      ]);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  async #settle(sending: VersionedRecord, result: SendResult): Promise<void> {
    const { id, channel, attempts } = sending.record;
    const provider = {
      ...(result.status !== undefined ? { providerStatus: result.status } : {}),
      // A provider's error may echo the URL it was sent to: no secret is kept.
      ...(result.answer !== undefined
        ? { providerAnswer: cut(redact(result.answer), ANSWER_MAX) }
        : {}),
    };
    const status = result.status !== undefined ? `HTTP ${result.status}` : "";
    let next: VersionedRecord | null;
    if (result.ok) {
      next = await this.#move(sending, { state: "sent", note: status || "sent", patch: provider });
    } else if (result.retryable) {
      const delayMs = result.retryAfterMs ?? this.#backoff(attempts);
      const nextAttemptAt = new Date(this.#clock.now() + delayMs).toISOString();
      next = await this.#move(sending, {
        state: "retrying",
        note: `${[status, result.error].filter(Boolean).join(": ")}; next attempt in ${
          formatDuration(delayMs)
        }`,
        patch: { ...provider, nextAttemptAt },
      });
    } else {
      next = await this.#move(sending, {
        state: "failed",
        note: [status, result.error].filter(Boolean).join(": "),
        patch: provider,
      });
      log.error(
        "Message {id} to {channel} failed permanently ({status}) after {attempts} attempts",
        {
          id,
          channel,
          status: result.status ?? "no status",
          attempts,
        },
      );
    }
    if (!next) {
      log.warn(
        "Message {id} to {channel} changed while it was being sent; its answer is not recorded",
        {
          id,
          channel,
        },
      );
    }
  }

  #backoff(attempts: number): number {
    return retryDelay(this.#retry, attempts, this.#random);
  }
}
