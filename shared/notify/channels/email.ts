/**
 * Email through SMTP (see `../smtp.ts`): the alert's heading as the
 * subject, the plain-text rendering as the body, one transaction for all
 * recipients (those the server refuses while it takes others are named in
 * the answer). Relayed posts are refused.
 *
 * @module
 */

import type { Channel, Payload, SendResult } from "../types.ts";
import { formatAlertText, formatTestText, summarizeAlert } from "../format.ts";
import { sendMail, SmtpError } from "../smtp.ts";
import type { ResolvedEmailWebhook } from "../webhook_schema.ts";
import type { ChannelDeps } from "./_deps.ts";
import { permanent, redact } from "./_http.ts";
import { relayRefusal } from "./twilio.ts";

/** Subject and body of the email for an alert or a test. */
export function emailContent(
  payload: Exclude<Payload, { type: "relay" }>,
): { subject: string; text: string } {
  if (payload.type === "test") {
    return { subject: "[TEST] scriptmon test message", text: formatTestText(payload.text) };
  }
  return {
    subject: summarizeAlert(payload.alert).heading,
    text: formatAlertText(payload.alert),
  };
}

/** An email channel. */
export function createEmailChannel(
  name: string,
  webhook: ResolvedEmailWebhook,
  deps: ChannelDeps,
): Channel {
  const domain = webhook.from.slice(webhook.from.lastIndexOf("@") + 1);
  return {
    name,
    kind: "email",
    async send(payload: Payload, options: { signal?: AbortSignal }): Promise<SendResult> {
      if (payload.type === "relay") return permanent(relayRefusal(name));
      if (deps.connect === undefined) {
        return permanent(`Webhook "${name}" (email) needs connect in the channel's deps`);
      }
      const { subject, text } = emailContent(payload);
      try {
        const receipt = await sendMail({
          host: webhook.smtpHost,
          port: webhook.smtpPort,
          tls: webhook.tls,
          starttls: webhook.starttls,
          ...(webhook.username === undefined ? {} : { username: webhook.username }),
          ...(webhook.password === undefined ? {} : { password: webhook.password }),
          ...(deps.caCerts === undefined ? {} : { caCerts: deps.caCerts }),
          ...(deps.clientName === undefined ? {} : { clientName: deps.clientName }),
          connect: deps.connect,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        }, {
          from: webhook.from,
          to: webhook.to,
          subject,
          text,
          date: new Date((deps.now ?? Date.now)()),
          messageId: `${crypto.randomUUID()}@${domain}`,
        });
        const refused = receipt.refused.map(({ recipient, reply }) => `<${recipient}> ${reply}`);
        return {
          ok: true,
          status: Number(receipt.reply.slice(0, 3)),
          answer: refused.length === 0
            ? receipt.reply
            : `${receipt.reply}; refused: ${refused.join("; ")}`,
        };
      } catch (error) {
        if (!(error instanceof SmtpError)) throw error;
        const secrets = webhook.password === undefined ? [] : [webhook.password];
        return {
          ok: false,
          retryable: error.retryable,
          ...(error.code === 0 ? {} : { status: error.code }),
          ...(error.reply === undefined ? {} : { answer: redact(error.reply, secrets) }),
          error: redact(error.message, secrets),
        };
      }
    },
  };
}
