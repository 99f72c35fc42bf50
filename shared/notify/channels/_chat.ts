/**
 * The shape every webhook-URL channel shares: a relayed post goes to the
 * URL exactly as the script sent it; alerts and tests are rendered by the
 * provider's `render` into a JSON body.
 *
 * @module
 */

import type { Channel, Payload, SendOptions, SendResult } from "../types.ts";
import type { ChannelDeps } from "./_deps.ts";
import { post } from "./_http.ts";

/** What a provider renders: an alert or a test message. */
export type Renderable = Exclude<Payload, { type: "relay" }>;

/** A provider: its kind and how it turns a message into a JSON body. */
export interface ChatProvider {
  kind: string;
  render(payload: Renderable): unknown;
}

/** A channel that POSTs JSON to one webhook URL. */
export function createChatChannel(
  options: { name: string; url: string; deps: ChannelDeps; provider: ChatProvider },
): Channel {
  const { name, url, deps, provider } = options;
  return {
    name,
    kind: provider.kind,
    send(payload: Payload, sendOptions: SendOptions): Promise<SendResult> {
      const [body, contentType] = payload.type === "relay"
        ? [payload.post.body, payload.post.contentType]
        : [JSON.stringify(provider.render(payload)), "application/json"];
      return post(deps, {
        url,
        headers: { "content-type": contentType },
        body,
        signal: sendOptions.signal,
        ...(sendOptions.id === undefined ? {} : { idempotencyKey: sendOptions.id }),
      });
    },
  };
}
