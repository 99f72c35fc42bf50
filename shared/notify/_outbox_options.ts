/** What the outbox is configured with and what its methods take. */
import type { Channel, MessageState, Payload } from "./types.ts";

/** Reads the time and waits (the agent's Clock fits). */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Retry backoff: delays grow by `multiplier` from `minDelayMs` to `maxDelayMs`, spread by ±`jitter`. */
export interface RetryPolicy {
  minDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  /** 0.2 spreads each delay by ±20 %. */
  jitter: number;
}

/** How one channel's messages are treated. */
export interface ChannelPolicy {
  /** A message not sent this long after it was queued is dead-lettered. */
  maxAgeMs: number;
  /** What becomes of a message interrupted mid-send: "skip" marks it uncertain, "resend" queues it again. */
  onUncertain: "skip" | "resend";
  /** At most `count` sends per `perMs` (sliding window); the rest wait. */
  rateLimit?: { count: number; perMs: number };
}

/** A message changed state (for live pages and tests). */
export interface OutboxChange {
  id: string;
  channel: string;
  state: MessageState;
  attempts: number;
}

/** How an outbox delivers. */
export interface OutboxOptions {
  /** The channels by name; messages go to one of them. */
  channels: ReadonlyMap<string, Channel>;
  /** Default: real time. */
  clock?: Clock;
  /** Default: 1 s, 5 min, ×2, ±20 %. */
  retry?: RetryPolicy;
  /** Default for every channel: 24 h, "skip", no rate limit. */
  channelPolicy?: (channel: string) => ChannelPolicy;
  /** How often to look for messages other processes queued in the KV file (ms, default 1000). */
  pollMs?: number;
  /** Called after every committed state change. */
  onChange?: (change: OutboxChange) => void;
  /** In [0, 1), like Math.random (the default); spreads retry delays. */
  random?: () => number;
  /**
   * Adds a check to every state change, so that it commits only while the caller may deliver
   * (the collector's leader lease: a deposed leader moves no message to "sending").
   */
  fence?: (op: Deno.AtomicOperation) => Deno.AtomicOperation;
}

/** What enqueue() takes. */
export interface EnqueueInput {
  channel: string;
  /** Identifies the message: a key already claimed is a duplicate. */
  dedupeKey: string;
  payload: Payload;
  /** A claim older than this no longer counts; default: forever. */
  dedupeWindowMs?: number;
  /** Record the message as silenced (or a duplicate) without sending it; such a record claims no key. */
  state?: "silenced" | "duplicate";
  /** Why, for the history. */
  note?: string;
}

/** What list() takes. */
export interface ListFilter {
  /** ISO time: only messages created then or later. */
  since?: string;
  /** ISO time: only messages created before it. */
  until?: string;
  /** A message id: only messages older than it (the last id of the previous page, for paging). */
  before?: string;
  state?: MessageState;
  channel?: string;
  /** Default 100. */
  limit?: number;
}

/**
 * The `since` or `until` of `filter` in ms, or undefined when absent.
 *
 * @throws {RangeError} naming the field and its value when it is not an ISO time.
 */
export function listTime(filter: ListFilter, name: "since" | "until"): number | undefined {
  const text = filter[name];
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) {
    throw new RangeError(
      `Invalid "${name}" for the outbox list: expected an ISO time, got "${text}"`,
    );
  }
  return ms;
}

/** Bytes a relayed body may have; the relay answers 413 above. */
export const MAX_RELAY_BODY_BYTES = 60 * 1024;
/** The longest single timer (setTimeout takes a signed 32-bit delay). */
export const MAX_SLEEP_MS = 2 ** 31 - 1;
/**
 * 1 s, then ×2 up to 3 s, ±20 %. Only a channel's head message is tried (the
 * queue waits behind it, in order), so while a webhook is down this is one
 * probe every few seconds, and the first success releases the rest: a
 * webhook that answers again is caught up within seconds, not minutes.
 */
export const DEFAULT_RETRY: RetryPolicy = {
  minDelayMs: 1000,
  maxDelayMs: 3000,
  multiplier: 2,
  jitter: 0.2,
};
/** 24 h, "skip", no rate limit. */
export const DEFAULT_POLICY: ChannelPolicy = { maxAgeMs: 86_400_000, onUncertain: "skip" };

/** Real time, with setTimeout. */
export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(Math.max(0, ms), MAX_SLEEP_MS));
      signal?.addEventListener("abort", done, { once: true });
    }),
};

/** The delay before retry number `attempts` (1 = after the first failure), spread by `random()`. */
export function retryDelay(r: RetryPolicy, attempts: number, random: () => number): number {
  const base = Math.min(r.maxDelayMs, r.minDelayMs * r.multiplier ** Math.max(0, attempts - 1));
  const spread = 1 + r.jitter * (2 * random() - 1);
  return Math.round(Math.min(r.maxDelayMs, Math.max(0, base * spread)));
}

/** Per channel: its wakers, whether something was queued since it last looked, its recent sends. */
export interface Lane {
  channel: Channel;
  policy: ChannelPolicy;
  dirty: boolean;
  /** Ends a wait for new messages (enqueue() calls it). */
  wake: (() => void) | null;
  /** Ends any wait (setChannels() calls it when the channel goes). */
  interrupt: (() => void) | null;
  /** The channel was taken out: the worker stops after its attempt in flight. */
  removed: boolean;
  sends: number[];
  inflight: string | null;
}

/** A lane that has not looked at its queue yet. */
export function newLane(channel: Channel, policy: ChannelPolicy): Lane {
  return {
    channel,
    policy,
    dirty: true,
    wake: null,
    interrupt: null,
    removed: false,
    sends: [],
    inflight: null,
  };
}
