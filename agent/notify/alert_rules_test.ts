import assert from "node:assert/strict";
import { scriptConditions } from "../../shared/notify/alert_rules.ts";
import { tokenConditions, tokenWarnings } from "../../shared/notify/alert_rules_tokens.ts";
import { scriptSummarySchema, tokenSummarySchema } from "../../shared/protocol.ts";
import { script } from "../../tests/_status_fixtures.ts";
import { tokenStatus } from "../tokens/_testing.ts";
import { toScriptSummary, toTokenSummary } from "../uplink/ingest_body.ts";
import { tokenFacts } from "./alert_rules.ts";

const CTX = { site: "BFI4", host: "ws-17", now: Date.parse("2026-03-02T10:00:00.000Z") };

Deno.test("the agent and the collector raise the same conditions for one script", () => {
  const status = script("rates", {
    state: "crash-looping",
    restarts: 5,
    lastExit: { at: "2026-03-02T09:59:58.000Z", code: 1, signal: null, runtimeMs: 300 },
    checks: [
      {
        name: "heartbeat",
        status: "failing",
        reason: "no ping for 3m",
        since: "2026-03-02T09:57:00.000Z",
        checkedAt: null,
        consecutiveFailures: 1,
        failuresTotal: 1,
      },
      {
        name: "silence",
        status: "failing",
        reason: "no output for 5m",
        since: "2026-03-02T09:55:00.000Z",
        checkedAt: null,
        consecutiveFailures: 1,
        failuresTotal: 1,
        alert: false,
      },
    ],
  });
  // What the agent judges, and what the collector judges after the summary crossed the wire.
  const sent = toScriptSummary(status);
  const received = scriptSummarySchema.parse(JSON.parse(JSON.stringify(sent)));
  const agent = scriptConditions(sent, CTX);
  const collector = scriptConditions(received, CTX);
  assert.deepEqual(collector, agent);
  assert.deepEqual(agent.map((c) => c.key), [
    "crash-looping|BFI4|ws-17|rates|",
    "unhealthy|BFI4|ws-17|rates|heartbeat",
  ]);
});

Deno.test("a script waiting for its token has its own alert, not script-down", () => {
  const waiting = script("rates", {
    state: "waiting-for-token",
    pid: null,
    reason: 'token "midway" is expired (expired 5m ago)',
  });
  const [condition] = scriptConditions(toScriptSummary(waiting), CTX);
  assert.equal(condition.alert.rule, "waiting-for-token");
  assert.equal(condition.alert.title, "rates waits for a token on ws-17 (BFI4)");
  assert.match(condition.alert.text, /^Not started: token "midway" is expired/);
});

Deno.test("the agent and the collector raise the same token-invalid for one token; the agent words it from what only it knows", () => {
  const statuses = [
    tokenStatus("midway", { state: "expired", reason: "expired 5m ago", secondsLeft: -300 }),
    tokenStatus("api"),
  ];
  const sent = statuses.map(toTokenSummary);
  const received = sent.map((t) => tokenSummarySchema.parse(JSON.parse(JSON.stringify(t))));
  const agent = tokenConditions(sent, CTX, tokenFacts(statuses));
  const collector = tokenConditions(received, CTX);
  const judged = (cs: typeof agent) =>
    cs.map((c) => [c.key, c.alert.rule, c.alert.severity, c.alert.title, c.alert.value]);
  assert.deepEqual(judged(collector), judged(agent));
  assert.deepEqual(judged(agent), [[
    "token-invalid|BFI4|ws-17||token:midway",
    "token-invalid",
    "critical",
    "token midway is expired on ws-17 (BFI4)",
    -300,
  ]]);
  assert.equal(
    agent[0].alert.text,
    "expired 5m ago. rates waits for it. It has no refresh command: renew it by hand.",
  );
  assert.equal(collector[0].alert.text, "Expiry 2026-03-02T12:00:00.000Z. Used by rates.");
});

Deno.test("tokenFacts() carries a token's lead time and refresh record into its warning", () => {
  const statuses = [tokenStatus("midway", {
    state: "expiring",
    reason: "expires in 2h",
    warning: 4 * 3600_000,
    refresh: {
      lastRunAt: null,
      lastOk: null,
      lastReason: null,
      failures: 0,
      nextTryAt: null,
      running: false,
    },
  })];
  const [warning] = tokenWarnings(statuses.map(toTokenSummary), CTX, tokenFacts(statuses));
  assert.equal(warning.alert.title, "token midway expires within 4h on ws-17 (BFI4)");
  assert.equal(
    warning.alert.text,
    "expires in 2h; expiry 2026-03-02T12:00:00.000Z. rates uses it. Its refresh command will try first.",
  );
});
