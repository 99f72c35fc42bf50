/**
 * Slack incoming webhooks: a JSON body with `text` (the notification and
 * fallback text) and `blocks` (a header, then `mrkdwn` sections). Slack's
 * limits: header text 150 characters, section text 3000, at most 10 section
 * fields of 2000 each, 50 blocks. In `mrkdwn`, `&`, `<` and `>` must be
 * escaped; links are `<url|label>`.
 *
 * @module
 */

import type { Channel } from "../types.ts";
import { codeBlock, cut, summarizeAlert } from "../format.ts";
import type { ResolvedChatWebhook } from "../webhook_schema.ts";
import type { ChannelDeps } from "./_deps.ts";
import { createChatChannel, type Renderable } from "./_chat.ts";

/** A Slack block as this channel writes them. */
export type SlackBlock =
  | { type: "header"; text: { type: "plain_text"; text: string } }
  | { type: "section"; text: { type: "mrkdwn"; text: string } }
  | { type: "section"; fields: { type: "mrkdwn"; text: string }[] }
  | { type: "context"; elements: { type: "mrkdwn"; text: string }[] };

/** The body of one Slack webhook post. */
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

const SECTION_MAX = 3000;

/** Renders an alert or a test as a Slack message. */
export function slackMessage(payload: Renderable): SlackMessage {
  if (payload.type === "test") {
    const text = `[TEST] ${payload.text}`;
    return { text: cut(text, SECTION_MAX), blocks: [section(escapeMrkdwn(text))] };
  }
  const summary = summarizeAlert(payload.alert);
  const blocks: SlackBlock[] = [
    { type: "header", text: { type: "plain_text", text: cut(summary.heading, 150) } },
    section(escapeMrkdwn(summary.text)),
    {
      type: "section",
      fields: summary.facts.slice(0, 10).map((fact) => ({
        type: "mrkdwn" as const,
        text: cut(`*${fact.label}*\n${escapeMrkdwn(fact.value)}`, 2000),
      })),
    },
  ];
  if (summary.members.length > 0) {
    const more = summary.moreMembers > 0 ? `\n• and ${summary.moreMembers} more` : "";
    blocks.push(section(
      `*Also affected (${summary.members.length + summary.moreMembers}):*\n` +
        summary.members.map((m) => `• ${escapeMrkdwn(m)}`).join("\n") + more,
    ));
  }
  if (summary.stderr.length > 0) {
    blocks.push(section(codeBlock(summary.stderr.map(escapeMrkdwn), SECTION_MAX)));
  }
  if (summary.link !== undefined) {
    blocks.push({
      type: "context",
      elements: [{
        type: "mrkdwn",
        text: `<${summary.link.replace(/[|>]/g, encodeURIComponent)}|Open in scriptmon>`,
      }],
    });
  }
  return { text: cut(summary.heading, SECTION_MAX), blocks };
}

/** A Slack channel for one incoming-webhook URL. */
export function createSlackChannel(
  name: string,
  webhook: ResolvedChatWebhook,
  deps: ChannelDeps,
): Channel {
  return createChatChannel({
    name,
    url: webhook.url,
    deps,
    provider: { kind: "slack", render: slackMessage },
  });
}

/** Escapes the three characters Slack's mrkdwn reserves. */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function section(text: string): SlackBlock {
  return { type: "section", text: { type: "mrkdwn", text: cut(text, SECTION_MAX) } };
}
