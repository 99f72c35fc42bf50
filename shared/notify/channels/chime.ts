/**
 * Amazon Chime incoming webhooks: a JSON body `{"Content": "..."}`. A
 * message that starts with `/md` is rendered as Markdown (so the stderr
 * fence shows as code); Chime takes at most 4096 characters.
 *
 * @module
 */

import type { Channel } from "../types.ts";
import { cut, formatAlertText, formatTestText } from "../format.ts";
import type { ResolvedChatWebhook } from "../webhook_schema.ts";
import type { ChannelDeps } from "./_deps.ts";
import { createChatChannel, type Renderable } from "./_chat.ts";

/** The most characters of a Chime message. */
export const CHIME_MAX_CHARS = 4096;

/** Renders an alert or a test as a Chime webhook body. */
export function chimeMessage(payload: Renderable): { Content: string } {
  const text = payload.type === "test"
    ? formatTestText(payload.text)
    : formatAlertText(payload.alert);
  return { Content: cut(`/md ${text}`, CHIME_MAX_CHARS) };
}

/** A Chime channel for one webhook URL. */
export function createChimeChannel(
  name: string,
  webhook: ResolvedChatWebhook,
  deps: ChannelDeps,
): Channel {
  return createChatChannel({
    name,
    url: webhook.url,
    deps,
    provider: { kind: "chime", render: chimeMessage },
  });
}
