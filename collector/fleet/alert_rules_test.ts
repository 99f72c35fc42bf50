import assert from "node:assert/strict";
import { scriptConditions, tokenConditions } from "./alert_rules.ts";
import { script } from "../_testing.ts";

const now = Date.parse("2026-05-01T12:00:00Z");
const ctx = { site: "BFI4", host: "ws-07", now };
const exitAt = (ms: number, code = 1) => ({
  at: new Date(now - ms).toISOString(),
  code,
  signal: null,
});

Deno.test("scriptConditions() reports nothing for a running, healthy script", () => {
  assert.deepEqual(scriptConditions(script("rates"), ctx), []);
});

Deno.test("scriptConditions() fires crash-looping (critical) with restarts and exit code", () => {
  const [condition, ...rest] = scriptConditions(
    script("rates", { state: "crash-looping", restarts: 7, lastExit: exitAt(1000, 3) }),
    ctx,
  );
  assert.equal(rest.length, 0);
  assert.equal(condition.key, "crash-looping|BFI4|ws-07|rates|");
  assert.equal(condition.alert.severity, "critical");
  assert.equal(condition.alert.title, "rates is crash-looping on ws-07 (BFI4)");
  assert.equal(condition.alert.text, "7 restarts; last exit code 3.");
  assert.equal(condition.alert.restarts, 7);
  assert.equal(condition.alert.exitCode, 3);
  assert.equal(condition.alert.script, "rates");
});

Deno.test("scriptConditions() fires script-down for a failed enabled script", () => {
  const [condition] = scriptConditions(
    script("rates", { state: "failed", reason: "command not found" }),
    ctx,
  );
  assert.equal(condition.key, "script-down|BFI4|ws-07|rates|");
  assert.equal(condition.alert.title, "rates is down on ws-07 (BFI4)");
  assert.equal(condition.alert.text, "command not found; last no exit yet.");
});

Deno.test("scriptConditions() ignores a failed script that is disabled", () => {
  assert.deepEqual(scriptConditions(script("rates", { state: "failed", enabled: false }), ctx), []);
});

Deno.test("scriptConditions() counts backoff as down only after 30 s since the last exit", () => {
  const soon = script("rates", { state: "backoff", lastExit: exitAt(30_000) });
  assert.deepEqual(scriptConditions(soon, ctx), []);
  const late = script("rates", { state: "backoff", lastExit: exitAt(30_001) });
  assert.equal(scriptConditions(late, ctx)[0].alert.rule, "script-down");
});

Deno.test("scriptConditions() fires unhealthy for failing heartbeat, silence and probes only", () => {
  const conditions = scriptConditions(
    script("rates", {
      checks: [
        { name: "heartbeat", status: "failing", reason: "no heartbeat for 60 s" },
        { name: "probe:api", status: "failing", reason: "HTTP 503" },
        { name: "silence", status: "warning", reason: "quiet" },
        { name: "custom", status: "failing", reason: "?" },
      ],
    }),
    ctx,
  );
  assert.deepEqual(conditions.map((c) => c.key), [
    "unhealthy|BFI4|ws-07|rates|heartbeat",
    "unhealthy|BFI4|ws-07|rates|probe:api",
  ]);
  assert.equal(conditions[1].alert.title, "rates is unhealthy (probe:api) on ws-07 (BFI4)");
  assert.equal(conditions[1].alert.text, "HTTP 503");
  assert.equal(conditions[1].alert.check, "probe:api");
});

Deno.test("scriptConditions() fires resource: warning for warning, critical for failing", () => {
  const conditions = scriptConditions(
    script("rates", {
      checks: [
        { name: "memory", status: "warning", reason: "RSS 900 MB > 800 MB" },
        { name: "cpu", status: "failing", reason: "CPU 99% > 90%" },
      ],
    }),
    ctx,
  );
  assert.deepEqual(
    conditions.map((c) => [c.key, c.alert.severity]),
    [["resource|BFI4|ws-07|rates|memory", "warning"], [
      "resource|BFI4|ws-07|rates|cpu",
      "critical",
    ]],
  );
  assert.equal(conditions[0].alert.title, "rates memory is high on ws-07 (BFI4)");
});

Deno.test("scriptConditions() fires waiting-for-token (warning) for a script paused for its token", () => {
  const [condition] = scriptConditions(
    script("rates", { state: "waiting-for-token", reason: "token sso is expired" }),
    ctx,
  );
  assert.equal(condition.alert.rule, "waiting-for-token");
  assert.equal(condition.alert.severity, "warning");
  assert.match(condition.alert.text, /sso is expired/);
});

Deno.test("tokenConditions() fires token-invalid for expired or invalid, token-expiring inside warn_before", () => {
  const token = (name: string, state: string) => ({
    name,
    state,
    expiresAt: "2026-05-01T13:00:00.000Z",
    secondsLeft: 3600,
    predicted: false,
    confidence: 1,
    usedBy: ["rates"],
  });
  const conditions = tokenConditions([
    token("sso", "expired"),
    token("api", "invalid"),
    token("jwt", "expiring"),
    token("cookie", "valid"),
    token("file", "unknown"),
  ], ctx);
  assert.deepEqual(conditions.map((c) => [c.alert.rule, c.alert.severity, c.alert.check]), [
    ["token-invalid", "critical", "token:sso"],
    ["token-invalid", "critical", "token:api"],
    ["token-expiring", "warning", "token:jwt"],
  ]);
  assert.equal(conditions[0].key, "token-invalid|BFI4|ws-07||token:sso");
  assert.match(conditions[2].alert.text, /Expiry 2026-05-01T13:00:00.000Z\. Used by rates\./);
});
