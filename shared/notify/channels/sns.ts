/**
 * SMS through Amazon SNS `Publish` (query API, version 2010-03-31): a POST
 * to the regional endpoint with a form body `Action=Publish&Version=...
 * &Message=...` and either `TopicArn` (one publish; `Subject` for email
 * subscribers) or `PhoneNumber` (one publish per number), signed with
 * Signature Version 4 (aws4fetch) for service `sns`. SNS answers XML; a throttled
 * request is a 400 with `<Code>Throttling</Code>` and is retried.
 *
 * @module
 */

import type { Channel, Payload, SendResult } from "../types.ts";
import { cut } from "../format.ts";
import type { ResolvedSnsWebhook } from "../webhook_schema.ts";
import type { ChannelDeps } from "./_deps.ts";
import { Fanout } from "./_fanout.ts";
import { permanent, post } from "./_http.ts";
import { relayRefusal, smsText } from "./twilio.ts";

/** The SNS API version this channel speaks. */
export const SNS_VERSION = "2010-03-31";
const FORM = "application/x-www-form-urlencoded; charset=utf-8";

/** One request to sign with AWS Signature Version 4. */
export interface AwsRequest {
  method: string;
  url: string;
  /** Sent with the request; all of them are signed, plus `host`. */
  headers: Record<string, string>;
  body: string;
  region: string;
  service: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** The signing time. */
  date: Date;
}

/**
 * The headers to send with a request signed by aws4fetch: those given, plus
 * `authorization`, `x-amz-date` and, for temporary credentials,
 * `x-amz-security-token`.
 */
export async function signAws(request: AwsRequest): Promise<Record<string, string>> {
  // Imported on the first SNS message, not at start.
  const { AwsV4Signer } = await import("aws4fetch");
  const signer = new AwsV4Signer({
    method: request.method,
    url: request.url,
    headers: request.headers,
    body: request.body,
    region: request.region,
    service: request.service,
    ...request.credentials,
    datetime: request.date.toISOString().replace(/[-:]|\.\d{3}/g, ""),
    // Sign content-type too (aws4fetch leaves it out by default), as AWS's examples do.
    allHeaders: true,
  });
  const { headers } = await signer.sign();
  return Object.fromEntries(headers);
}

/** The form body of one Publish. */
export function publishBody(
  message: string,
  target: { topicArn: string; subject?: string } | { phoneNumber: string },
): string {
  const form = new URLSearchParams({ Action: "Publish", Version: SNS_VERSION, Message: message });
  if ("topicArn" in target) {
    form.set("TopicArn", target.topicArn);
    if (target.subject !== undefined) form.set("Subject", target.subject);
  } else {
    form.set("PhoneNumber", target.phoneNumber);
  }
  return form.toString();
}

/** An SNS SMS channel (a topic, or phone numbers directly). */
export function createSnsChannel(
  name: string,
  webhook: ResolvedSnsWebhook,
  deps: ChannelDeps,
): Channel {
  const fanout = new Fanout();
  const url = `${webhook.endpoint}/`;
  const publish = async (body: string, signal?: AbortSignal): Promise<SendResult> => {
    const headers = await signAws({
      method: "POST",
      url,
      headers: { "content-type": FORM },
      body,
      region: webhook.region,
      service: "sns",
      credentials: {
        accessKeyId: webhook.accessKeyId,
        secretAccessKey: webhook.secretAccessKey,
        ...(webhook.sessionToken === undefined ? {} : { sessionToken: webhook.sessionToken }),
      },
      date: new Date((deps.now ?? Date.now)()),
    });
    return await post(deps, {
      url,
      headers,
      body,
      signal,
      secrets: [webhook.secretAccessKey, ...(webhook.sessionToken ? [webhook.sessionToken] : [])],
      retryable: (status, answer) =>
        status === 400 && /<Code>[^<]*(Throttl|LimitExceeded)[^<]*<\/Code>/.test(answer),
    });
  };
  return {
    name,
    kind: "sms",
    send(payload: Payload, options: { signal?: AbortSignal }): Promise<SendResult> {
      if (payload.type === "relay") return Promise.resolve(permanent(relayRefusal(name)));
      const message = smsText(payload);
      if (webhook.topicArn !== undefined) {
        const subject = cut(
          (payload.type === "test" ? "scriptmon test" : payload.alert.title)
            .replace(/[^\x20-\x7e]/g, "?"),
          100,
        );
        return publish(
          publishBody(message, { topicArn: webhook.topicArn, subject }),
          options.signal,
        );
      }
      return fanout.send(
        JSON.stringify(payload),
        webhook.phoneNumbers ?? [],
        (phoneNumber) => publish(publishBody(message, { phoneNumber }), options.signal),
      );
    },
  };
}
