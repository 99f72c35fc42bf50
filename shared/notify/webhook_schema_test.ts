import assert from "node:assert/strict";
import { resolveWebhook, webhookSchema } from "./webhook_schema.ts";

function issues(input: unknown): string[] {
  const result = webhookSchema.safeParse(input);
  assert.equal(result.success, false, "expected the table to be refused");
  return result.error!.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
}

function resolve(input: unknown) {
  return resolveWebhook("ops", webhookSchema.parse(input));
}

const SID = "AC0123456789abcdef0123456789abcdef";

Deno.test("resolveWebhook() applies the common defaults to a Slack webhook", () => {
  assert.deepEqual(resolve({ kind: "slack", url: "https://hooks.slack.com/services/T/B/X" }), {
    name: "ops",
    kind: "slack",
    url: "https://hooks.slack.com/services/T/B/X",
    maxAgeMs: 86_400_000,
    onUncertain: "skip",
    dedupeWindowMs: 600_000,
  });
});

Deno.test("resolveWebhook() parses rate_limit, max_age and dedupe_window", () => {
  const webhook = resolve({
    kind: "discord",
    url: "https://discord.com/api/webhooks/1/x",
    rate_limit: "20/m",
    max_age: "2h",
    dedupe_window: "30s",
    on_uncertain: "resend",
  });
  assert.deepEqual(
    [webhook.rateLimit, webhook.maxAgeMs, webhook.dedupeWindowMs, webhook.onUncertain],
    [{ count: 20, perMs: 60_000 }, 7_200_000, 30_000, "resend"],
  );
});

Deno.test("webhookSchema refuses http:// except for loopback, without showing the URL's path", () => {
  assert.deepEqual(
    issues({ kind: "teams", url: "http://prod.webhook.office.com/workflows/SECRET" }),
    [
      'url: expected an https:// URL, got "http://prod.webhook.office.com/..."',
    ],
  );
  assert.deepEqual(issues({ kind: "chime", url: "not a url" }), [
    'url: expected an https:// URL, got "a value that is not a URL"',
  ]);
  assert.equal(resolve({ kind: "chime", url: "http://127.0.0.1:9/x" }).kind, "chime");
  assert.equal(resolve({ kind: "chime", url: "http://localhost:9/x" }).kind, "chime");
});

Deno.test("webhookSchema names an unknown kind, a missing key and an unknown key", () => {
  assert.deepEqual(issues({ kind: "pager" }), [
    'kind: expected kind "slack", "chime", "teams", "discord", "json", "email", "sms", got "pager"',
  ]);
  assert.deepEqual(issues({ kind: "slack" }), ["url: expected an https:// URL, got nothing"]);
  assert.deepEqual(issues({ kind: "slack", url: "https://x.example/", uri: "y" }), [
    ': expected only the keys "kind", "max_age", "on_uncertain", "rate_limit", "dedupe_window", "dedupe_scope", "url", got "uri"',
  ]);
});

Deno.test("webhookSchema checks durations, rates and on_uncertain", () => {
  assert.deepEqual(
    issues({
      kind: "slack",
      url: "https://x.example/",
      max_age: "soon",
      rate_limit: "0/m",
      on_uncertain: "maybe",
    }),
    [
      'max_age: expected a duration like "30s", "5m" or "1h30m", got "soon"',
      'on_uncertain: expected "skip" or "resend", got "maybe"',
      'rate_limit: expected a rate like "20/m" (a count of at least 1 per s, m or h), got "0/m"',
    ],
  );
});

Deno.test("a json webhook needs a secret of 16 characters, never shown, and no reserved headers", () => {
  assert.deepEqual(
    issues({
      kind: "json",
      url: "https://x.example/in",
      secret: "short-secret",
      headers: { "X-Scriptmon-Signature": "forged", "Bad Name": "v" },
    }),
    [
      "secret: expected a secret of at least 16 characters, got 12",
      'headers.X-Scriptmon-Signature: expected a header the channel does not set itself, got "X-Scriptmon-Signature"',
      'headers.Bad Name: expected a header name of token characters, got "Bad Name"',
    ],
  );
  const webhook = resolve({ kind: "json", url: "https://x.example/in", secret: "s".repeat(16) });
  assert.deepEqual(webhook.kind === "json" && webhook.headers, {});
});

Deno.test("an email webhook defaults to port 587 with STARTTLS, and 465 with tls", () => {
  const base = {
    kind: "email",
    smtp_host: "smtp.fc.example",
    from: "a@fc.example",
    to: ["b@fc.example"],
  };
  const plain = resolve(base);
  assert.ok(plain.kind === "email");
  assert.deepEqual([plain.smtpPort, plain.starttls, plain.tls], [587, true, false]);
  const implicit = resolve({ ...base, tls: true, ca_file: "ca.pem" });
  assert.ok(implicit.kind === "email");
  assert.deepEqual([implicit.smtpPort, implicit.starttls, implicit.tls, implicit.caFile], [
    465,
    false,
    true,
    "ca.pem",
  ]);
});

Deno.test("an email webhook wants username and password together and real addresses", () => {
  assert.deepEqual(
    issues({
      kind: "email",
      smtp_host: "smtp.fc.example",
      from: "not-an-address",
      to: [],
      username: "u",
      tls: true,
      starttls: true,
    }),
    [
      'from: expected an email address like "ops@example.com", got "not-an-address"',
      "to: expected at least one email address, got []",
      "password: expected password together with username, got username alone",
      "starttls: expected starttls = false with tls = true (implicit TLS needs no STARTTLS), got both true",
    ],
  );
});

Deno.test("a Twilio webhook resolves with the default API base and checks E.164 numbers", () => {
  const webhook = resolve({
    kind: "sms",
    provider: "twilio",
    account_sid: SID,
    auth_token: "token",
    from: "+14155550100",
    to: ["+14155550101"],
  });
  assert.ok(webhook.kind === "sms" && webhook.provider === "twilio");
  assert.equal(webhook.apiBase, "https://api.twilio.com");
  assert.deepEqual(
    issues({
      kind: "sms",
      provider: "twilio",
      account_sid: SID,
      auth_token: "t",
      from: "0415",
      to: ["+1"],
    }),
    [
      'from: expected an E.164 phone number like "+14155550100", got "0415"',
      'to.0: expected an E.164 phone number like "+14155550100", got "+1"',
    ],
  );
});

Deno.test("an SNS webhook wants exactly one of topic_arn or phone_numbers and defaults its endpoint", () => {
  const base = {
    kind: "sms",
    provider: "sns",
    region: "eu-west-1",
    access_key_id: "AKID",
    secret_access_key: "k",
  };
  assert.deepEqual(issues(base), [
    "topic_arn: expected exactly one of topic_arn or phone_numbers, got neither",
  ]);
  const webhook = resolve({ ...base, topic_arn: "arn:aws:sns:eu-west-1:123456789012:ops" });
  assert.ok(webhook.kind === "sms" && webhook.provider === "sns");
  assert.equal(webhook.endpoint, "https://sns.eu-west-1.amazonaws.com");
  assert.deepEqual(issues({ kind: "sms", provider: "pigeon" }), [
    'provider: expected provider "twilio" or "sns", got "pigeon"',
  ]);
});
