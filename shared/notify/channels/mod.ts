/**
 * The notification channels: {@linkcode createChannel} turns a resolved
 * `[webhooks.<name>]` into a `Channel` that formats and delivers messages
 * for its provider, with the network functions the caller passes in.
 *
 * @module
 */

import type { Channel } from "../types.ts";
import type { ResolvedWebhook } from "../webhook_schema.ts";
import type { ChannelDeps } from "./_deps.ts";
import { createChimeChannel } from "./chime.ts";
import { createDiscordChannel } from "./discord.ts";
import { createEmailChannel } from "./email.ts";
import { createJsonChannel } from "./json.ts";
import { createSlackChannel } from "./slack.ts";
import { createSnsChannel } from "./sns.ts";
import { createTeamsChannel } from "./teams.ts";
import { createTwilioChannel } from "./twilio.ts";

export type { ChannelDeps } from "./_deps.ts";
export { REQUEST_TIMEOUT_MS } from "./_http.ts";

/** The channel for one configured webhook. */
export function createChannel(
  name: string,
  webhook: ResolvedWebhook,
  deps: ChannelDeps,
): Channel {
  switch (webhook.kind) {
    case "slack":
      return createSlackChannel(name, webhook, deps);
    case "chime":
      return createChimeChannel(name, webhook, deps);
    case "teams":
      return createTeamsChannel(name, webhook, deps);
    case "discord":
      return createDiscordChannel(name, webhook, deps);
    case "json":
      return createJsonChannel(name, webhook, deps);
    case "email":
      return createEmailChannel(name, webhook, deps);
    case "sms":
      return webhook.provider === "twilio"
        ? createTwilioChannel(name, webhook, deps)
        : createSnsChannel(name, webhook, deps);
  }
}
