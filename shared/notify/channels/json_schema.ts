/**
 * `kind = "json"`: a generic JSON receiver, its URL, signing secret and extra
 * headers (sent by `json.ts` beside this file).
 *
 * @module
 */
import { z } from "zod";
import {
  common,
  headers,
  MIN_SECRET_LENGTH,
  secret,
  strictTable,
  webhookUrl,
} from "../webhook_fields.ts";

/** A generic JSON receiver; every post is signed with HMAC-SHA256 of `secret`. */
export const jsonWebhookSchema = strictTable({
  kind: z.literal("json"),
  ...common,
  url: webhookUrl,
  secret: secret(MIN_SECRET_LENGTH),
  headers: headers.optional(),
});
