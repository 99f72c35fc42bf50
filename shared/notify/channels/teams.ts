/**
 * Microsoft Teams through a Workflows ("Post to a channel when a webhook
 * request is received") webhook: a `message` whose one attachment is an
 * Adaptive Card (`application/vnd.microsoft.card.adaptive`, schema 1.4):
 * TextBlocks, a FactSet, monospace lines for stderr, an `Action.OpenUrl`
 * for the link. Workflows answer 202 Accepted.
 *
 * @module
 */

import type { Channel } from "../types.ts";
import { cut, summarizeAlert } from "../format.ts";
import type { ResolvedChatWebhook } from "../webhook_schema.ts";
import type { ChannelDeps } from "./_deps.ts";
import { createChatChannel, type Renderable } from "./_chat.ts";

/** An Adaptive Card element as this channel writes them. */
export type CardElement =
  | {
    type: "TextBlock";
    text: string;
    wrap: true;
    size?: "Medium" | "Large";
    weight?: "Bolder";
    color?: "Attention" | "Warning" | "Good" | "Accent";
    fontType?: "Monospace";
    spacing?: "None" | "Medium";
    isSubtle?: true;
  }
  | { type: "FactSet"; facts: { title: string; value: string }[] }
  | { type: "Container"; style: "emphasis"; items: CardElement[] };

/** The body of one Workflows webhook post. */
export interface TeamsMessage {
  type: "message";
  attachments: [{
    contentType: "application/vnd.microsoft.card.adaptive";
    contentUrl: null;
    content: {
      type: "AdaptiveCard";
      $schema: "http://adaptivecards.io/schemas/adaptive-card.json";
      version: "1.4";
      body: CardElement[];
      actions?: { type: "Action.OpenUrl"; title: string; url: string }[];
      msteams: { width: "Full" };
    };
  }];
}

const COLORS = { critical: "Attention", warning: "Warning", info: "Accent" } as const;

/** Renders an alert or a test as a Teams Workflows message with an Adaptive Card. */
export function teamsMessage(payload: Renderable): TeamsMessage {
  const body: CardElement[] = [];
  let actions: { type: "Action.OpenUrl"; title: string; url: string }[] | undefined;
  if (payload.type === "test") {
    body.push(text(`[TEST] ${payload.text}`));
  } else {
    const summary = summarizeAlert(payload.alert);
    body.push({
      ...text(summary.heading),
      size: "Medium",
      weight: "Bolder",
      color: summary.resolved ? "Good" : COLORS[summary.severity],
    });
    body.push(text(summary.text));
    body.push({
      type: "FactSet",
      facts: summary.facts.map((fact) => ({ title: fact.label, value: cut(fact.value, 500) })),
    });
    if (summary.members.length > 0) {
      const more = summary.moreMembers > 0 ? [`- and ${summary.moreMembers} more`] : [];
      body.push(text(
        [`**Also affected (${summary.members.length + summary.moreMembers}):**`]
          .concat(summary.members.map((m) => `- ${m}`), more).join("\n"),
      ));
    }
    if (summary.stderr.length > 0) {
      body.push({ ...text(`Last ${summary.stderr.length} lines of stderr:`), isSubtle: true });
      body.push({
        type: "Container",
        style: "emphasis",
        // One TextBlock a line: Teams' markdown would fold single line breaks.
        items: summary.stderr.map((line) => ({
          ...text(line === "" ? " " : line),
          fontType: "Monospace",
          spacing: "None",
        })),
      });
    }
    if (summary.link !== undefined) {
      actions = [{ type: "Action.OpenUrl", title: "Open in scriptmon", url: summary.link }];
    }
  }
  return {
    type: "message",
    attachments: [{
      contentType: "application/vnd.microsoft.card.adaptive",
      contentUrl: null,
      content: {
        type: "AdaptiveCard",
        $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
        version: "1.4",
        body,
        ...(actions === undefined ? {} : { actions }),
        msteams: { width: "Full" },
      },
    }],
  };
}

/** A Teams channel for one Workflows webhook URL. */
export function createTeamsChannel(
  name: string,
  webhook: ResolvedChatWebhook,
  deps: ChannelDeps,
): Channel {
  return createChatChannel({
    name,
    url: webhook.url,
    deps,
    provider: { kind: "teams", render: teamsMessage },
  });
}

function text(value: string): { type: "TextBlock"; text: string; wrap: true } {
  return { type: "TextBlock", text: cut(value, 4000), wrap: true };
}
