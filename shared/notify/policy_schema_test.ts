import assert from "node:assert/strict";
import {
  notifyPolicySchema,
  parseNotifyPolicy,
  resolveNotifyPolicy,
  unknownWebhooks,
} from "./policy_schema.ts";

/** Each issue as `path: message`, the way config errors show them. */
function issuesOf(input: unknown): string[] {
  const result = notifyPolicySchema.safeParse(input);
  assert.equal(result.success, false);
  return result.error!.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
}

Deno.test("resolveNotifyPolicy() applies the documented defaults", () => {
  assert.deepEqual(resolveNotifyPolicy(undefined, { defaultTimezone: "UTC" }), {
    groupWaitMs: 30_000,
    forMs: 0,
    forRuleMs: {},
    repeatIntervalMs: 4 * 3_600_000,
    sendResolved: true,
    routes: [],
    silences: [],
  });
});

Deno.test("resolveNotifyPolicy() converts durations, hours, zones and silences", () => {
  const policy = parseNotifyPolicy({
    group_wait: "10s",
    for: "1m",
    for_rule: { "crash-looping": "0s" },
    repeat_interval: "2h",
    send_resolved: false,
    link: "https://scriptmon.example/fleet",
    routes: [
      { webhooks: ["ops"], severity: ["critical"], match: { site: "BFI*" }, continue: true },
      {
        webhooks: ["day"],
        timezone: "America/Los_Angeles",
        hours: ["Mon-Fri 08:00-18:00"],
      },
    ],
    silences: [
      { match: { script: "rates" }, until: "2026-12-31T23:59:00Z", comment: "migrating" },
      { id: "box", match: {}, until: new Date("2027-01-01T00:00:00Z") },
    ],
  }, { defaultTimezone: "Europe/Berlin" });
  assert.equal(policy.forMs, 60_000);
  assert.deepEqual(policy.forRuleMs, { "crash-looping": 0 });
  assert.equal(policy.repeatIntervalMs, 7_200_000);
  assert.equal(policy.sendResolved, false);
  assert.deepEqual(policy.routes[0], {
    webhooks: ["ops"],
    severity: ["critical"],
    match: { site: "BFI*" },
    timezone: "Europe/Berlin",
    continue: true,
  });
  assert.equal(policy.routes[1].timezone, "America/Los_Angeles");
  assert.deepEqual(policy.routes[1].severity, ["critical", "warning", "info"]);
  assert.deepEqual(policy.routes[1].hours?.[0].days, [0, 1, 2, 3, 4]);
  assert.deepEqual(policy.silences, [
    {
      id: "config-1",
      match: { script: "rates" },
      until: "2026-12-31T23:59:00Z",
      comment: "migrating",
    },
    { id: "box", match: {}, until: "2027-01-01T00:00:00.000Z" },
  ]);
});

Deno.test("notifyPolicySchema rejects a bad hours spec, naming it and why", () => {
  assert.deepEqual(
    issuesOf({
      routes: [{ webhooks: ["ops"], hours: ["Mon-Fri 08:00-18:00", "Mon 8-18"] }],
    }),
    [
      'routes.0.hours.1: expected working hours like "Mon-Fri 08:00-18:00" (a span past midnight like "Sun-Thu 22:00-06:30"), got "Mon 8-18"',
    ],
  );
});

Deno.test("notifyPolicySchema rejects a time zone that is not IANA", () => {
  assert.deepEqual(issuesOf({ routes: [{ webhooks: ["ops"], timezone: "Pacific Time" }] }), [
    'routes.0.timezone: expected an IANA time zone like "Europe/Berlin" or "UTC", got "Pacific Time"',
  ]);
});

Deno.test("notifyPolicySchema rejects a route without webhooks", () => {
  assert.deepEqual(issuesOf({ routes: [{ webhooks: [] }] }), [
    "routes.0.webhooks: expected at least one webhook name, got []",
  ]);
});

Deno.test("notifyPolicySchema rejects bad durations, silence times and unknown keys together", () => {
  const issues = issuesOf({
    group_wait: "soon",
    repeat_interval: "0s",
    silences: [{ match: { script: "rates" }, until: "next week" }],
    routes: [{ webhooks: ["ops"], match: { scrpt: "rates" } }],
  });
  assert.deepEqual(issues.slice(0, 3), [
    'group_wait: expected a duration like "30s", "5m" or "1h30m", got "soon"',
    'repeat_interval: expected a duration > 0, got "0s"',
    'routes.0.match: Unrecognized key: "scrpt"',
  ]);
  assert.equal(
    issues[3],
    'silences.0.until: expected an ISO time like "2026-12-31T23:59:00Z", got "next week"',
  );
});

Deno.test("parseNotifyPolicy() throws TypeError listing every problem with its key path", () => {
  assert.throws(() => parseNotifyPolicy({ routes: [{ webhooks: [], timezone: "Nowhere" }] }), {
    name: "TypeError",
    message: "Invalid notify policy:\n" +
      "notify.routes.0.webhooks: expected at least one webhook name, got []\n" +
      'notify.routes.0.timezone: expected an IANA time zone like "Europe/Berlin" or "UTC", got "Nowhere"',
  });
});

Deno.test("unknownWebhooks() names routes' webhooks that are not configured", () => {
  assert.deepEqual(
    unknownWebhooks({ routes: [{ webhooks: ["ops", "opps"] }] }, ["ops", "oncall"]),
    [{
      path: "routes.0.webhooks.1",
      message: 'unknown webhook "opps"; expected one of "ops", "oncall"',
    }],
  );
});
