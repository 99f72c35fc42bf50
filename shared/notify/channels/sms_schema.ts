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
  account_sid: z.string({
    error: (issue) => `expected a Twilio account SID, got ${describeValue(issue.input)}`,
  }).check((ctx) => {
    if (!/^AC[0-9a-fA-F]{32}$/.test(ctx.value)) {
      ctx.issues.push(
        custom(
          `expected a Twilio account SID like "AC" and 32 hex digits, got ${
            JSON.stringify(ctx.value.slice(0, 40))
          }`,
          ctx.value,
        ),
      );
    }
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
  region: z.string({
    error: (issue) => `expected an AWS region like "eu-west-1", got ${describeValue(issue.input)}`,
  }).check((ctx) => {
    if (!AWS_REGION.test(ctx.value)) {
      ctx.issues.push(
        custom(
          `expected an AWS region like "eu-west-1", got ${JSON.stringify(ctx.value)}`,
          ctx.value,
        ),
      );
    }
  }),
  access_key_id: text,
  secret_access_key: secret(),
  session_token: secret().optional(),
  topic_arn: z.string({
    error: (issue) => `expected an SNS topic ARN, got ${describeValue(issue.input)}`,
  }).check((ctx) => {
    if (!TOPIC_ARN.test(ctx.value)) {
      ctx.issues.push(
        custom(
          `expected an SNS topic ARN like "arn:aws:sns:eu-west-1:123456789012:ops", got ${
            JSON.stringify(ctx.value)
          }`,
          ctx.value,
        ),
      );
    }
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
