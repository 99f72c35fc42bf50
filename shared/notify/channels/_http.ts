/**
 * One HTTP POST for a channel, with a timeout, and its answer as a
 * `SendResult`: 2xx ok; 408, 429, 5xx and network errors retryable (a 429's
 * `Retry-After`, seconds or an HTTP date, becomes `retryAfterMs`); any
 * other status permanent. Answers are cut to 2 KiB; secrets are redacted
 * from every error and answer.
 *
 * @module
 */

import type { SendResult } from "../types.ts";
import { redactUrl } from "../webhook_schema.ts";
import { formatDuration } from "../../config/units.ts";

/** How long one request may take, answer included. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** The most bytes of a provider's answer kept. */
export const ANSWER_MAX_BYTES = 2048;

/** What the HTTP channels need from the caller. */
export interface HttpDeps {
  fetch: typeof fetch;
  /** Milliseconds since the epoch; `Date.now` by default. */
  now?: () => number;
}

/** One request to send. */
export interface PostOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  signal?: AbortSignal;
  /** Strings that must never appear in an error or answer (tokens, keys). */
  secrets?: string[];
  timeoutMs?: number;
  /** Sent as `Idempotency-Key`: the message's id, the same on every attempt. */
  idempotencyKey?: string;
  /** Decides that a 4xx answer is worth retrying after all (SNS's 400 Throttling). */
  retryable?: (status: number, answer: string) => boolean;
}

/** POSTs once and says how it went; never throws, except when the caller's signal aborts it. */
export async function post(deps: HttpDeps, options: PostOptions): Promise<SendResult> {
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const secrets = [options.url, ...(options.secrets ?? [])];
  const timeout = new AbortController();
  const timer = setTimeout(
    () =>
      timeout.abort(
        new DOMException(`timed out after ${formatDuration(timeoutMs)}`, "TimeoutError"),
      ),
    timeoutMs,
  );
  const signal = options.signal === undefined
    ? timeout.signal
    : AbortSignal.any([timeout.signal, options.signal]);
  try {
    const headers = options.idempotencyKey === undefined
      ? options.headers
      : { ...options.headers, "idempotency-key": options.idempotencyKey };
    const response = await deps.fetch(options.url, {
      method: "POST",
      headers,
      body: options.body,
      signal,
      redirect: "manual",
    });
    const answer = redact(cutBytes(await response.text(), ANSWER_MAX_BYTES), secrets);
    return classifyResponse({
      status: response.status,
      answer,
      retryAfter: response.headers.get("retry-after"),
      nowMs: (deps.now ?? Date.now)(),
      retryable: options.retryable,
    });
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    const timedOut = timeout.signal.aborted;
    const reason = timedOut
      ? `timed out after ${formatDuration(timeoutMs)}`
      : redact(errorChain(error), secrets);
    // Refused before the request left (no connection, no name, no TLS): safe to send again.
    // A timeout or a connection lost after sending: the provider may have it.
    if (!timedOut && NOT_SENT.test(reason)) {
      return {
        ok: false,
        retryable: true,
        error: `POST ${redactUrl(options.url)} failed: ${reason}`,
      };
    }
    return {
      ok: false,
      retryable: false,
      uncertain: true,
      error: `POST ${redactUrl(options.url)} failed: ${reason}; it may have been delivered`,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** fetch's words for a request that never left: the connection, the name or TLS failed. */
const NOT_SENT =
  /\(Connect\)|tcp connect error|dns error|failed to lookup|connection refused|no route to host|network is unreachable|invalid peer certificate|certificate|handshake/i;

/** An error's message with its causes', which say where a fetch failed. */
function errorChain(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 5; depth++) {
    parts.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(": ");
}

/** What {@linkcode classifyResponse} decides from. */
export interface ResponseFacts {
  status: number;
  answer: string;
  retryAfter: string | null;
  nowMs: number;
  retryable?: (status: number, answer: string) => boolean;
}

/** Maps an HTTP answer to a `SendResult`. */
export function classifyResponse(facts: ResponseFacts): SendResult {
  const { status, answer } = facts;
  if (status >= 200 && status < 300) return { ok: true, status, answer };
  const retryable = status === 408 || status === 429 || status >= 500 ||
    (facts.retryable?.(status, answer) ?? false);
  const retryAfterMs = retryable ? parseRetryAfter(facts.retryAfter, facts.nowMs) : undefined;
  const said = answer.trim() === "" ? "" : `: ${cutBytes(answer.trim(), 300)}`;
  return {
    ok: false,
    retryable,
    status,
    answer,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    error: `provider answered ${status}${statusWord(status)}${said}`,
  };
}

/** A `Retry-After` value (seconds, or an HTTP date) in milliseconds from `nowMs`; undefined if absent or bad. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (/^\d+\.\d+$/.test(text)) return Math.ceil(Number(text) * 1000);
  const at = Date.parse(text);
  if (Number.isNaN(at) || !/[a-z]/i.test(text)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Cuts text to at most `maxBytes` of UTF-8 without splitting a character. */
export function cutBytes(text: string, maxBytes: number): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end -= 1;
  return new TextDecoder().decode(bytes.subarray(0, end));
}

/** Replaces each secret (and, for URLs, their path) in `text` with a placeholder. */
export function redact(text: string, secrets: string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    let shown = "[redacted]";
    try {
      const url = new URL(secret);
      shown = redactUrl(secret);
      if (url.pathname.length > 1) result = result.replaceAll(url.pathname, "/...");
    } catch {
      // not a URL: a token or key
    }
    result = result.replaceAll(secret, shown);
  }
  return result;
}

/** A failure decided before anything was sent. */
export function permanent(error: string): SendResult {
  return { ok: false, retryable: false, error };
}

/** Base64 of UTF-8 text (for Basic auth). */
export function base64(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function statusWord(status: number): string {
  const words: Record<number, string> = {
    400: " Bad Request",
    401: " Unauthorized",
    403: " Forbidden",
    404: " Not Found",
    408: " Request Timeout",
    410: " Gone",
    413: " Payload Too Large",
    429: " Too Many Requests",
    500: " Internal Server Error",
    502: " Bad Gateway",
    503: " Service Unavailable",
    504: " Gateway Timeout",
  };
  return words[status] ?? "";
}
