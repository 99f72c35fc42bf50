/**
 * A generic JSON receiver, signed like Stripe's webhooks so the receiver
 * can tell the post is ours and fresh.
 *
 * Body: `{"type":"alert","alert":<Alert>,"text":"<plain text>"}` or
 * `{"type":"test","text":"..."}`; a relayed post is sent as it came, with
 * its own content type, and signed the same way.
 *
 * Headers: `X-Scriptmon-Timestamp: <unix seconds>` and
 * `X-Scriptmon-Signature: sha256=<hex>`, the HMAC-SHA256 with the webhook's
 * `secret` of `<timestamp>.<body>` (the raw body bytes as received).
 *
 * How a receiver verifies:
 * 1. Read the raw body (before any JSON parsing) and both headers.
 * 2. Reject when the timestamp is more than 5 minutes from its own clock
 *    (replay protection).
 * 3. Compute HMAC-SHA256(secret, timestamp + "." + body), hex-encode it and
 *    compare it with the header's hex in constant time
 *    (`crypto.timingSafeEqual`, `hmac.compare_digest`).
 * 4. Only then parse the JSON.
 *
 * @module
 */

import type { Channel, Payload, SendOptions, SendResult } from "../types.ts";
import { formatAlertText, formatTestText } from "../format.ts";
import type { ResolvedJsonWebhook } from "../webhook_schema.ts";
import type { ChannelDeps } from "./_deps.ts";
import { hmacSha256Hex } from "./_hmac.ts";
import { post } from "./_http.ts";

/** The header holding the unix time (seconds) the post was signed at. */
export const TIMESTAMP_HEADER = "X-Scriptmon-Timestamp";
/** The header holding `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`. */
export const SIGNATURE_HEADER = "X-Scriptmon-Signature";

/** The JSON body of an alert or test post. */
export function jsonBody(payload: Exclude<Payload, { type: "relay" }>, id?: string): string {
  // `id` is the message's, the same on every attempt: a receiver dedupes on it.
  const ids = id === undefined ? {} : { id };
  return payload.type === "test"
    ? JSON.stringify({ ...ids, type: "test", text: formatTestText(payload.text) })
    : JSON.stringify({
      ...ids,
      type: "alert",
      alert: payload.alert,
      text: formatAlertText(payload.alert),
    });
}

/** `sha256=<hex>` for a body signed at `timestamp` (unix seconds). */
export async function signBody(secret: string, timestamp: number, body: string): Promise<string> {
  return `sha256=${await hmacSha256Hex(secret, `${timestamp}.${body}`)}`;
}

/** A generic JSON channel: HMAC-signed POSTs to one URL. */
export function createJsonChannel(
  name: string,
  webhook: ResolvedJsonWebhook,
  deps: ChannelDeps,
): Channel {
  return {
    name,
    kind: "json",
    async send(payload: Payload, options: SendOptions): Promise<SendResult> {
      const [body, contentType] = payload.type === "relay"
        ? [payload.post.body, payload.post.contentType]
        : [jsonBody(payload, options.id), "application/json"];
      const timestamp = Math.floor((deps.now ?? Date.now)() / 1000);
      return await post(deps, {
        url: webhook.url,
        headers: {
          ...webhook.headers,
          "content-type": contentType,
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: await signBody(webhook.secret, timestamp, body),
        },
        body,
        signal: options.signal,
        secrets: [webhook.secret, ...Object.values(webhook.headers)],
        ...(options.id === undefined ? {} : { idempotencyKey: options.id }),
      });
    },
  };
}
