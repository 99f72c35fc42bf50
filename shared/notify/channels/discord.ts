/**
 * Discord webhooks ("Execute Webhook"): a JSON body with `content` (at most
 * 2000 characters) or `embeds` (title ≤ 256, description ≤ 4096, at most 25
 * fields with names ≤ 256 and values ≤ 1024, 6000 characters over all).
 * `allowed_mentions: {parse: []}` keeps a script's `@everyone` from pinging.
 *
 * @module
 */

import type { Channel } from "../types.ts";
import { codeBlock, cut, summarizeAlert } from "../format.ts";
import type { ResolvedChatWebhook } from "../webhook_schema.ts";
import type { ChannelDeps } from "./_deps.ts";
import { createChatChannel, type Renderable } from "./_chat.ts";

/** One Discord embed as this channel writes it. */
export interface DiscordEmbed {
  title: string;
  description: string;
  color: number;
  timestamp: string;
  url?: string;
  fields: { name: string; value: string; inline: boolean }[];
}

/** The body of one Discord webhook post. */
export interface DiscordMessage {
  content?: string;
  embeds?: DiscordEmbed[];
  allowed_mentions: { parse: [] };
}

const COLORS = { critical: 0xe01e5a, warning: 0xecb22e, info: 0x1d9bd1, resolved: 0x2eb67d };
/** Embed characters allowed in one message. */
const EMBED_TOTAL = 6000;

/** Renders an alert or a test as a Discord webhook body. */
export function discordMessage(payload: Renderable): DiscordMessage {
  if (payload.type === "test") {
    return { content: cut(`[TEST] ${payload.text}`, 2000), allowed_mentions: { parse: [] } };
  }
  const summary = summarizeAlert(payload.alert);
  const fields = summary.facts.slice(0, 24).map((fact) => ({
    name: fact.label,
    value: cut(fact.value, 1024),
    inline: true,
  }));
  if (summary.members.length > 0) {
    const more = summary.moreMembers > 0 ? `\n- and ${summary.moreMembers} more` : "";
    fields.push({
      name: `Also affected (${summary.members.length + summary.moreMembers})`,
      value: cut(summary.members.map((m) => `- ${m}`).join("\n") + more, 1024),
      inline: false,
    });
  }
  const title = cut(summary.heading, 256);
  const used = title.length + fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
  const room = Math.min(4096, EMBED_TOTAL - used);
  const text = cut(summary.text, Math.max(0, room));
  const description = summary.stderr.length > 0 && room - text.length > 20
    ? `${text}\n${codeBlock(summary.stderr, room - text.length - 1)}`
    : text;
  return {
    embeds: [{
      title,
      description,
      color: summary.resolved ? COLORS.resolved : COLORS[summary.severity],
      timestamp: payload.alert.at,
      ...(summary.link === undefined ? {} : { url: summary.link }),
      fields,
    }],
    allowed_mentions: { parse: [] },
  };
}

/** A Discord channel for one webhook URL. */
export function createDiscordChannel(
  name: string,
  webhook: ResolvedChatWebhook,
  deps: ChannelDeps,
): Channel {
  return createChatChannel({
    name,
    url: webhook.url,
    deps,
    provider: { kind: "discord", render: discordMessage },
  });
}
