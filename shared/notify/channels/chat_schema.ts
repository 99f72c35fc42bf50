/**
 * `kind = "slack" | "chime" | "teams" | "discord"`: a chat incoming webhook,
 * its URL only (sent by `slack.ts`, `chime.ts`, `teams.ts` and `discord.ts`
 * beside this file).
 *
 * @module
 */
import { z } from "zod";
import { common, strictTable, webhookUrl } from "../webhook_fields.ts";

/** A chat webhook: Slack, Amazon Chime, Microsoft Teams (Workflows) or Discord. */
export const chatWebhookSchema = strictTable({
  kind: z.enum(["slack", "chime", "teams", "discord"]),
  ...common,
  url: webhookUrl,
});
