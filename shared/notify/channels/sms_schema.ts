/**
 * `kind = "sms"`: Twilio's REST API or Amazon SNS, their credentials and
 * recipients (sent by `twilio.ts` and `sns.ts` beside this file).
 *
 * @module
 */
import { z } from "zod";
import { describeValue } from "../../config/wording.ts";
import {
  AWS_REGION,
  common,
  custom,
  isRecord,
  matching,
  nonEmptyList,
  phoneNumber,
  secret,
  strictTable,
  text,
  TOPIC_ARN,
  webhookUrl,
} from "../webhook_fields.ts";

/** SMS through Twilio's Messages API. */
export const twilioSmsSchema = strictTable({
  kind: z.literal("sms"),
  provider: z.literal("twilio"),
  ...common,
  account_sid: matching(/^AC[0-9a-fA-F]{32}$/, "a Twilio account SID", {
    mismatch: 'a Twilio account SID like "AC" and 32 hex digits',
    shown: (text) => text.slice(0, 40),
  }),
  auth_token: secret(),
  from: phoneNumber,
  to: nonEmptyList(phoneNumber, "phone number", "phone numbers"),
  api_base: webhookUrl.optional(),
});

/** SMS through Amazon SNS Publish (a topic, or phone numbers directly). */
export const snsSmsSchema = strictTable({
  kind: z.literal("sms"),
  provider: z.literal("sns"),
  ...common,
  region: matching(AWS_REGION, 'an AWS region like "eu-west-1"'),
  access_key_id: text,
  secret_access_key: secret(),
  session_token: secret().optional(),
  topic_arn: matching(TOPIC_ARN, "an SNS topic ARN", {
    mismatch: 'an SNS topic ARN like "arn:aws:sns:eu-west-1:123456789012:ops"',
  }).optional(),
  phone_numbers: nonEmptyList(phoneNumber, "phone number", "phone numbers").optional(),
  endpoint: webhookUrl.optional(),
}).superRefine((sns, ctx) => {
  if ((sns.topic_arn === undefined) === (sns.phone_numbers === undefined)) {
    ctx.addIssue({
      ...custom(
        `expected exactly one of topic_arn or phone_numbers, got ${
          sns.topic_arn === undefined ? "neither" : "both"
        }`,
        undefined,
      ),
      path: ["topic_arn"],
    });
  }
}, { when: () => true });

/** `kind = "sms"`: its keys depend on `provider`. */
export const smsWebhookSchema = z.discriminatedUnion("provider", [twilioSmsSchema, snsSmsSchema], {
  error: (issue) => {
    if (issue.code !== "invalid_union") return undefined;
    const provider = isRecord(issue.input) ? issue.input.provider : undefined;
    return `expected provider "twilio" or "sns", got ${describeValue(provider)}`;
  },
});
