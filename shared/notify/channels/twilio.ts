/**
 * SMS through Twilio's Messages API: one `POST
 * {api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json` per recipient,
 * form-encoded `To`, `From` and `Body`, HTTP Basic auth with the account SID
 * and auth token. Twilio answers 201 Created; errors are JSON with `code`
 * and `message`.
 *
 * @module
 */

import type { Channel, Payload, SendResult } from "../types.ts";
import { cut, formatAlertShort, formatTestText, SMS_MAX_CHARS } from "../format.ts";
import type { ResolvedTwilioWebhook } from "../webhook_schema.ts";
import type { ChannelDeps } from "./_deps.ts";
import { Fanout } from "./_fanout.ts";
import { base64, permanent, post } from "./_http.ts";

/** The text of an SMS for an alert or a test. */
export function smsText(payload: Exclude<Payload, { type: "relay" }>): string {
  return payload.type === "test"
    ? cut(formatTestText(payload.text), SMS_MAX_CHARS)
    : formatAlertShort(payload.alert);
}

/** A Twilio SMS channel. */
export function createTwilioChannel(
  name: string,
  webhook: ResolvedTwilioWebhook,
  deps: ChannelDeps,
): Channel {
  const fanout = new Fanout();
  const url = `${webhook.apiBase}/2010-04-01/Accounts/${
    encodeURIComponent(webhook.accountSid)
  }/Messages.json`;
  const authorization = `Basic ${base64(`${webhook.accountSid}:${webhook.authToken}`)}`;
  return {
    name,
    kind: "sms",
    send(payload: Payload, options: { signal?: AbortSignal }): Promise<SendResult> {
      if (payload.type === "relay") {
        return Promise.resolve(permanent(relayRefusal(name)));
      }
      const text = smsText(payload);
      return fanout.send(JSON.stringify(payload), webhook.to, (to) =>
        post(deps, {
          url,
          headers: {
            authorization,
            "content-type": "application/x-www-form-urlencoded",
            accept: "application/json",
          },
          body: new URLSearchParams({ To: to, From: webhook.from, Body: text }).toString(),
          signal: options.signal,
          secrets: [webhook.authToken, authorization],
        }));
    },
  };
}

/** Why an SMS or email channel does not take relayed posts. */
export function relayRefusal(name: string): string {
  return `Webhook "${name}" cannot relay a script's post: relaying works only for slack, chime, teams, discord and json webhooks`;
}
