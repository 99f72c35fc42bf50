/**
 * The notification pipeline's vocabulary, shared by the agent and the
 * collector: alerts, relayed posts, the messages the outbox keeps, and the
 * channels that deliver them. Nothing here opens anything; the outbox gets
 * its KV handle and the channels their `fetch` (or socket) from the caller.
 */

/** How bad an alert is; routes and business hours decide by it. */
export type Severity = "critical" | "warning" | "info";

/** An alert raised by a rule: what happened, where, when, and the evidence. */
export interface Alert {
  /** The rule that raised it: "crash-looping", "script-down", "unhealthy", "resource", ... */
  rule: string;
  severity: Severity;
  /** "firing" when the condition starts (or repeats), "resolved" when it clears. */
  status: "firing" | "resolved";
  /** One line: `rates is crash-looping on PICK-WS-07 (BFI4)`. */
  title: string;
  /** What happened, in a few sentences. */
  text: string;
  site: string;
  host: string;
  script?: string;
  /** The check, for check alerts ("heartbeat", "probe:api", "memory"...). */
  check?: string;
  /** ISO time the condition started (firing) or cleared (resolved). */
  at: string;
  exitCode?: number | null;
  signal?: string | null;
  value?: number;
  threshold?: number;
  restarts?: number;
  /** The last lines the script wrote to stderr, oldest first. */
  stderrTail?: string[];
  /** A link to the web page, when one is configured. */
  link?: string;
  /** Identifies one occurrence of the condition: a new episode starts when it clears and comes back. */
  episode: string;
  /**
   * Other alerts of the same rule folded into this message by grouping
   * (`group_wait`): the same failure in ten scripts is one message.
   */
  group?: Alert[];
}

/** A script's own webhook post, relayed as it was sent. */
export interface RelayedPost {
  /** The body exactly as the script sent it. */
  body: string;
  contentType: string;
}

/** What goes through the outbox: an alert (formatted per channel) or a relayed post (sent as is). */
export type Payload =
  | { type: "alert"; alert: Alert }
  | { type: "relay"; post: RelayedPost }
  | { type: "test"; text: string };

/** Every state a message can be in. */
export const MESSAGE_STATES = [
  "queued",
  "sending",
  "sent",
  "retrying",
  "failed",
  "dead-lettered",
  "uncertain",
  "duplicate",
  "silenced",
] as const;

/** Where a message is in its life. */
export type MessageState = typeof MESSAGE_STATES[number];

/** One step in a message's history. */
export interface MessageEvent {
  /** ISO time. */
  at: string;
  state: MessageState;
  /** The provider's answer or the reason, in words. */
  note?: string;
}

/** A message as the outbox keeps it. */
export interface MessageRecord {
  id: string;
  /** The webhook (channel) name it goes to. */
  channel: string;
  dedupeKey: string;
  payload: Payload;
  state: MessageState;
  /** ISO times. */
  createdAt: string;
  updatedAt: string;
  attempts: number;
  /** ISO time of the next attempt while retrying. */
  nextAttemptAt?: string;
  /** The provider's last HTTP status and (cut) answer. */
  providerStatus?: number;
  providerAnswer?: string;
  history: MessageEvent[];
}

/** What one delivery attempt came to. */
export type SendResult =
  | { ok: true; status?: number; answer?: string }
  | {
    ok: false;
    /** False for a permanent failure (a 4xx other than 408/429, a bad address). */
    retryable: boolean;
    /**
     * The request may have reached the provider (a timeout or a reset after
     * it was sent): not retried blindly, the webhook's `on_uncertain` decides.
     */
    uncertain?: boolean;
    /** From a 429's Retry-After. */
    retryAfterMs?: number;
    status?: number;
    answer?: string;
    error: string;
  };

/** A configured destination: formats a payload for its provider and sends it. */
export interface Channel {
  readonly name: string;
  readonly kind: string;
  /** Delivers one message; never throws for a provider's refusal (that is a SendResult). */
  send(payload: Payload, options: SendOptions): Promise<SendResult>;
}

/** How a channel sends one message. */
export interface SendOptions {
  signal?: AbortSignal;
  /** The message's id, the same on every attempt: HTTP channels send it as `Idempotency-Key`. */
  id?: string;
}
