import assert from "node:assert/strict";
import { AlertPolicy, type PolicyOutput } from "./policy.ts";
import { type NotifyPolicyInput, parseNotifyPolicy } from "./policy_schema.ts";
import type { Silence } from "./silences.ts";
import { Calendar, parseSpans } from "../calendar/mod.ts";
import type { Alert, Severity } from "./types.ts";

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
/** Wednesday 2026-06-10 17:00 UTC: 10:00 in Los Angeles, inside office hours. */
const T0 = Date.parse("2026-06-10T17:00:00Z");

function policyOf(
  config: NotifyPolicyInput,
  options: { silences?: () => Silence[] } = {},
): AlertPolicy {
  return new AlertPolicy(
    parseNotifyPolicy({ routes: [{ webhooks: ["ops"] }], ...config }, { defaultTimezone: "UTC" }),
    options,
  );
}

function firing(
  script: string,
  options: { rule?: string; severity?: Severity; site?: string; host?: string } = {},
): Alert {
  const rule = options.rule ?? "crash-looping";
  const site = options.site ?? "BFI4";
  const host = options.host ?? "ws7";
  return {
    rule,
    severity: options.severity ?? "critical",
    status: "firing",
    title: `${script} is ${rule} on ${host} (${site})`,
    text: "restarted 10 times in 10m",
    site,
    host,
    script,
    at: new Date(T0).toISOString(),
    episode: "",
  };
}

function resolved(alert: Alert): Alert {
  return { ...alert, status: "resolved", title: `${alert.script} is running again` };
}

function keyOf(alert: Alert): string {
  return `${alert.rule}|${alert.site}|${alert.host}|${alert.script}`;
}

function summary(outputs: PolicyOutput[]) {
  return outputs.map((output) => ({
    channel: output.channel,
    status: output.payload.alert.status,
    script: output.payload.alert.script,
    group: output.payload.alert.group?.map((alert) => alert.script) ?? [],
    suppressed: output.suppressed?.reason,
  }));
}

Deno.test("AlertPolicy sends nothing for a condition that clears before `for`", () => {
  const policy = policyOf({ for: "1m", group_wait: "0s" });
  const rates = firing("rates");
  policy.observe(keyOf(rates), rates, T0);
  assert.equal(policy.nextWakeAt(), T0 + M);
  policy.observe(keyOf(rates), resolved(rates), T0 + 30 * S);
  assert.deepEqual(policy.due(T0 + H), []);
  assert.equal(policy.nextWakeAt(), null);
});

Deno.test("AlertPolicy sends a condition that held for `for`, after group_wait", () => {
  const policy = policyOf({ for: "1m", group_wait: "30s" });
  const rates = firing("rates");
  policy.observe(keyOf(rates), rates, T0);
  assert.equal(policy.nextWakeAt(), T0 + 90 * S);
  assert.deepEqual(policy.due(T0 + 89 * S), []);
  const [output, ...others] = policy.due(T0 + 90 * S);
  assert.equal(others.length, 0);
  const episode = `${keyOf(rates)}@${T0}`;
  assert.equal(output.channel, "ops");
  assert.equal(output.dedupeKey, `crash-looping|BFI4|ws7|rates|${episode}|0|firing|ops`);
  assert.equal(output.payload.alert.episode, episode);
  assert.equal(output.payload.alert.title, "rates is crash-looping on ws7 (BFI4)");
  assert.equal(output.suppressed, undefined);
});

Deno.test("AlertPolicy uses for_rule over the global `for`", () => {
  const policy = policyOf({ for: "5m", for_rule: { "crash-looping": "0s" }, group_wait: "0s" });
  const rates = firing("rates");
  const down = firing("tokens", { rule: "script-down" });
  policy.observe(keyOf(rates), rates, T0);
  policy.observe(keyOf(down), down, T0);
  assert.deepEqual(summary(policy.due(T0)).map((o) => o.script), ["rates"]);
  assert.deepEqual(summary(policy.due(T0 + 5 * M)).map((o) => o.script), ["tokens"]);
});

Deno.test("AlertPolicy groups 10 scripts crash-looping at once into one message", () => {
  const policy = policyOf({ group_wait: "30s" });
  const alerts = Array.from({ length: 10 }, (_, index) => firing(`script${index}`));
  alerts.forEach((alert, index) => policy.observe(keyOf(alert), alert, T0 + index * S));
  const outputs = policy.due(T0 + 30 * S);
  assert.equal(outputs.length, 1);
  const alert = outputs[0].payload.alert;
  assert.equal(alert.title, "crash-looping: 10 scripts at BFI4");
  assert.equal(alert.script, "script0");
  assert.deepEqual(alert.group?.map((member) => member.script), [
    "script1",
    "script2",
    "script3",
    "script4",
    "script5",
    "script6",
    "script7",
    "script8",
    "script9",
  ]);
  assert.equal(alert.group?.[0].episode, `${keyOf(alerts[1])}@${T0 + S}`);
  assert.equal(
    outputs[0].dedupeKey,
    `crash-looping|BFI4|ws7|script0|${keyOf(alerts[0])}@${T0}|0|firing|ops`,
  );
});

Deno.test("AlertPolicy starts a new group for an alert due after group_wait closed", () => {
  const policy = policyOf({ group_wait: "30s" });
  const first = firing("rates");
  const late = firing("tokens");
  policy.observe(keyOf(first), first, T0);
  policy.observe(keyOf(late), late, T0 + 31 * S);
  assert.deepEqual(summary(policy.due(T0 + 30 * S)).map((o) => o.script), ["rates"]);
  assert.equal(policy.nextWakeAt(), T0 + 61 * S);
  assert.deepEqual(summary(policy.due(T0 + 61 * S)).map((o) => o.script), ["tokens"]);
});

Deno.test("AlertPolicy repeats a condition still firing every repeat_interval", () => {
  const policy = policyOf({ group_wait: "0s", repeat_interval: "4h" });
  const rates = firing("rates");
  policy.observe(keyOf(rates), rates, T0);
  assert.equal(policy.due(T0).length, 1);
  policy.observe(keyOf(rates), rates, T0 + H); // still firing: no new episode
  assert.equal(policy.nextWakeAt(), T0 + 4 * H);
  assert.deepEqual(policy.due(T0 + 4 * H - 1), []);
  const [repeat] = policy.due(T0 + 4 * H);
  assert.match(repeat.dedupeKey, new RegExp(`@${T0}\\|1\\|firing\\|ops$`));
  const [again] = policy.due(T0 + 8 * H);
  assert.match(again.dedupeKey, /\|2\|firing\|ops$/);
});

Deno.test("AlertPolicy does not burst missed repeats after a long pause", () => {
  const policy = policyOf({ group_wait: "0s", repeat_interval: "1h" });
  const rates = firing("rates");
  policy.observe(keyOf(rates), rates, T0);
  policy.due(T0);
  assert.equal(policy.due(T0 + 10 * H).length, 1);
  assert.equal(policy.nextWakeAt(), T0 + 11 * H);
});

Deno.test("AlertPolicy sends a grouped resolved message for conditions sent as firing", () => {
  const policy = policyOf({ group_wait: "30s" });
  const rates = firing("rates");
  const tokens = firing("tokens");
  policy.observe(keyOf(rates), rates, T0);
  policy.observe(keyOf(tokens), tokens, T0);
  policy.due(T0 + 30 * S);
  policy.observe(keyOf(rates), resolved(rates), T0 + 10 * M);
  policy.observe(keyOf(tokens), resolved(tokens), T0 + 10 * M + 5 * S);
  assert.equal(policy.nextWakeAt(), T0 + 10 * M + 30 * S);
  const outputs = policy.due(T0 + 10 * M + 30 * S);
  assert.deepEqual(summary(outputs), [
    {
      channel: "ops",
      status: "resolved",
      script: "rates",
      group: ["tokens"],
      suppressed: undefined,
    },
  ]);
  const alert = outputs[0].payload.alert;
  assert.equal(alert.title, "crash-looping resolved: 2 scripts at BFI4");
  assert.equal(alert.at, new Date(T0 + 10 * M).toISOString());
  assert.match(outputs[0].dedupeKey, /\|1\|resolved\|ops$/);
  assert.equal(policy.nextWakeAt(), null);
});

Deno.test("AlertPolicy sends no resolved for a flap nor when send_resolved is false", () => {
  const flapping = policyOf({ for: "1m", group_wait: "30s" });
  const rates = firing("rates");
  flapping.observe(keyOf(rates), rates, T0);
  // Held past `for` but cleared inside group_wait: never sent, so nothing at all.
  flapping.observe(keyOf(rates), resolved(rates), T0 + 70 * S);
  assert.deepEqual(flapping.due(T0 + H), []);

  const quiet = policyOf({ group_wait: "0s", send_resolved: false });
  quiet.observe(keyOf(rates), rates, T0);
  assert.equal(quiet.due(T0).length, 1);
  quiet.observe(keyOf(rates), resolved(rates), T0 + M);
  assert.deepEqual(quiet.due(T0 + H), []);
  assert.equal(quiet.nextWakeAt(), null);
});

Deno.test("AlertPolicy treats firing again before the resolved went out as the same episode", () => {
  const policy = policyOf({ group_wait: "30s", repeat_interval: "4h" });
  const rates = firing("rates");
  policy.observe(keyOf(rates), rates, T0);
  policy.due(T0 + 30 * S);
  policy.observe(keyOf(rates), resolved(rates), T0 + M);
  policy.observe(keyOf(rates), rates, T0 + M + 10 * S);
  assert.deepEqual(policy.due(T0 + 2 * M), []);
  const [repeat] = policy.due(T0 + 30 * S + 4 * H);
  assert.match(repeat.dedupeKey, new RegExp(`@${T0}\\|1\\|firing\\|ops$`));
});

Deno.test("AlertPolicy starts a new episode when a cleared condition fires again", () => {
  const policy = policyOf({ group_wait: "0s" });
  const rates = firing("rates");
  policy.observe(keyOf(rates), rates, T0);
  policy.due(T0);
  policy.observe(keyOf(rates), resolved(rates), T0 + M);
  assert.equal(policy.due(T0 + M)[0].payload.alert.status, "resolved");
  policy.observe(keyOf(rates), rates, T0 + 2 * M);
  const [output] = policy.due(T0 + 2 * M);
  assert.equal(output.payload.alert.episode, `${keyOf(rates)}@${T0 + 2 * M}`);
  assert.match(output.dedupeKey, /\|0\|firing\|ops$/);
});

Deno.test("AlertPolicy records silenced alerts as suppressed, until the silence expires", () => {
  const policy = policyOf({
    group_wait: "0s",
    repeat_interval: "1h",
    silences: [{
      match: { script: "rates" },
      until: new Date(T0 + 90 * M).toISOString(),
      comment: "migrating the rates box",
    }],
  });
  const rates = firing("rates");
  policy.observe(keyOf(rates), rates, T0);
  const [silenced] = policy.due(T0);
  assert.deepEqual(silenced.suppressed, {
    reason: "silenced",
    note: `silenced by config-1 until ${
      new Date(T0 + 90 * M).toISOString()
    }: migrating the rates box`,
  });
  const [after] = policy.due(T0 + 2 * H);
  assert.equal(after.suppressed, undefined);
  assert.match(after.dedupeKey, /\|1\|firing\|ops$/);
});

Deno.test("AlertPolicy reads runtime silences on each decision and sends no resolved for a hushed episode", () => {
  const runtime: Silence[] = [];
  const policy = policyOf({ group_wait: "0s" }, { silences: () => runtime });
  const rates = firing("rates");
  const tokens = firing("tokens");
  runtime.push({ id: "cli-7", match: { script: "rat*" }, until: "2099-01-01T00:00:00Z" });
  policy.observe(keyOf(rates), rates, T0);
  policy.observe(keyOf(tokens), tokens, T0);
  assert.deepEqual(summary(policy.due(T0)), [
    { channel: "ops", status: "firing", script: "rates", group: [], suppressed: "silenced" },
    { channel: "ops", status: "firing", script: "tokens", group: [], suppressed: undefined },
  ]);
  runtime.length = 0;
  policy.observe(keyOf(rates), resolved(rates), T0 + M);
  policy.observe(keyOf(tokens), resolved(tokens), T0 + M);
  assert.deepEqual(summary(policy.due(T0 + M)).map((o) => `${o.script} ${o.status}`), [
    "tokens resolved",
  ]);
});

Deno.test("AlertPolicy holds non-critical alerts outside business hours; critical goes out", () => {
  const policy = policyOf({
    group_wait: "0s",
    routes: [{
      webhooks: ["ops"],
      timezone: "America/Los_Angeles",
      hours: ["Mon-Fri 08:00-18:00"],
    }],
  });
  // Saturday 2026-06-13 10:00 in Los Angeles.
  const saturday = Date.parse("2026-06-13T17:00:00Z");
  const warning = firing("rates", { rule: "resource", severity: "warning" });
  const critical = firing("tokens", { rule: "script-down", severity: "critical" });
  policy.observe(keyOf(warning), warning, saturday);
  policy.observe(keyOf(critical), critical, saturday);
  const outputs = policy.due(saturday);
  const byScript = Object.fromEntries(outputs.map((o) => [o.payload.alert.script, o.suppressed]));
  assert.deepEqual(byScript, {
    rates: {
      reason: "outside business hours",
      note:
        "outside business hours (Mon-Fri 08:00-18:00 America/Los_Angeles); only critical alerts go out then",
    },
    tokens: undefined,
  });
  // The Wednesday before, inside hours, the warning goes out.
  const weekday = policyOf({
    group_wait: "0s",
    routes: [{
      webhooks: ["ops"],
      timezone: "America/Los_Angeles",
      hours: ["Mon-Fri 08:00-18:00"],
    }],
  });
  weekday.observe(keyOf(warning), warning, T0);
  assert.equal(weekday.due(T0)[0].suppressed, undefined);
});

Deno.test("a route with a calendar holds non-critical alerts outside its spans and on its holidays", () => {
  const calendars = new Map([[
    "day_shift",
    new Calendar({
      name: "day_shift",
      timezone: "America/Los_Angeles",
      spans: [parseSpans("Mon-Fri 06:00-18:00")],
      holidays: ["2026-06-10"],
    }),
  ]]);
  const policyOn = (at: number) => {
    const policy = new AlertPolicy(
      parseNotifyPolicy({
        group_wait: "0s",
        routes: [{ webhooks: ["ops"], calendar: "day_shift" }],
      }, { calendars }),
    );
    const warning = firing("rates", { rule: "resource", severity: "warning" });
    const critical = firing("tokens", { rule: "script-down", severity: "critical" });
    policy.observe(keyOf(warning), warning, at);
    policy.observe(keyOf(critical), critical, at);
    return Object.fromEntries(
      policy.due(at).map((o) => [o.payload.alert.script, o.suppressed?.note]),
    );
  };
  // Wednesday 10:00 in Los Angeles is a holiday of the calendar.
  assert.deepEqual(policyOn(T0), {
    rates: "a holiday of the day_shift calendar (Mon-Fri 06:00-18:00 (America/Los_Angeles), " +
      "1 holiday); only critical alerts go out then",
    tokens: undefined,
  });
  // Thursday 10:00: open, everything goes out; Thursday 20:00: closed.
  assert.deepEqual(policyOn(T0 + 24 * H), { rates: undefined, tokens: undefined });
  assert.match(policyOn(T0 + 34 * H).rates!, /^outside the day_shift calendar/);
});

Deno.test("AlertPolicy takes the first matching route, and the next ones with `continue`", () => {
  const policy = policyOf({
    group_wait: "0s",
    routes: [
      { webhooks: ["pagers"], severity: ["critical"], match: { site: "BFI*" }, continue: true },
      { webhooks: ["bfi-chat"], match: { site: "BFI4" } },
      { webhooks: ["everyone"] },
    ],
  });
  const critical = firing("rates", { severity: "critical" });
  const warning = firing("tokens", { rule: "resource", severity: "warning" });
  const elsewhere = firing("labels", { rule: "unhealthy", severity: "warning", site: "SEA1" });
  for (const alert of [critical, warning, elsewhere]) policy.observe(keyOf(alert), alert, T0);
  const sent = summary(policy.due(T0)).map((o) => `${o.script}->${o.channel}`).sort();
  assert.deepEqual(sent, [
    "labels->everyone",
    "rates->bfi-chat",
    "rates->pagers",
    "tokens->bfi-chat",
  ]);
});

Deno.test("AlertPolicy with no routes sends nothing but keeps the condition", () => {
  const policy = policyOf({ group_wait: "0s", routes: [] });
  const rates = firing("rates");
  policy.observe(keyOf(rates), rates, T0);
  assert.deepEqual(policy.due(T0), []);
  policy.observe(keyOf(rates), resolved(rates), T0 + M);
  assert.equal(policy.nextWakeAt(), null);
});

Deno.test("AlertPolicy.restore() keeps episodes: no resend after a restart, repeats go on", () => {
  const config = parseNotifyPolicy({
    group_wait: "0s",
    for: "1m",
    routes: [{ webhooks: ["ops"] }],
  }, { defaultTimezone: "UTC" });
  const policy = new AlertPolicy(config, {});
  const rates = firing("rates");
  const tokens = firing("tokens");
  policy.observe(keyOf(rates), rates, T0);
  const [first] = policy.due(T0 + M);
  policy.observe(keyOf(tokens), tokens, T0 + M); // still inside `for` at the restart
  const saved = JSON.parse(JSON.stringify(policy.snapshot()));

  const restored = AlertPolicy.restore(config, saved, {});
  restored.observe(keyOf(rates), rates, T0 + 90 * S); // the agent re-observes after start
  assert.deepEqual(summary(restored.due(T0 + 90 * S)), []);
  assert.deepEqual(summary(restored.due(T0 + 2 * M)).map((o) => o.script), ["tokens"]);
  const [repeat] = restored.due(T0 + M + 4 * H);
  assert.equal(repeat.dedupeKey, first.dedupeKey.replace("|0|firing|", "|1|firing|"));
  restored.observe(keyOf(rates), resolved(rates), T0 + 5 * H);
  assert.deepEqual(summary(restored.due(T0 + 5 * H)).map((o) => `${o.script} ${o.status}`), [
    "tokens firing", // its first repeat, due at T0 + 2m + 4h
    "rates resolved",
  ]);
});

Deno.test("AlertPolicy.restore() rejects a snapshot it did not make with TypeError", () => {
  const config = parseNotifyPolicy({}, { defaultTimezone: "UTC" });
  assert.throws(() => AlertPolicy.restore(config, { version: 2, conditions: [] }, {}), {
    name: "TypeError",
    message: /^Cannot restore the alert policy: snapshot at \.version is invalid/,
  });
});
