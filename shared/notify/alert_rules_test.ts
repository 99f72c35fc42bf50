import assert from "node:assert/strict";
import type { ScriptSummary } from "../protocol.ts";
import { scriptConditions } from "./alert_rules.ts";

/** A running, healthy script's summary, with overrides. */
function script(name: string, overrides: Partial<ScriptSummary> = {}): ScriptSummary {
  return {
    name,
    state: "running",
    health: "healthy",
    enabled: true,
    pid: 4242,
    uptimeMs: 60_000,
    restarts: 0,
    rssBytes: 10_000_000,
    cpuPercent: 1,
    lastExit: null,
    checks: [],
    reason: null,
    ...overrides,
  };
}

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

Deno.test("scriptConditions() fires job-failed, not script-down, for a failed scheduled run", () => {
  const [condition, ...rest] = scriptConditions(
    script("nightly", { state: "failed", schedule: "0 3 * * *", lastExit: exitAt(1000, 2) }),
    ctx,
  );
  assert.equal(rest.length, 0);
  assert.equal(condition.alert.rule, "job-failed");
  assert.equal(condition.alert.severity, "warning");
  assert.equal(condition.alert.text, "Last exit code 2.");
  assert.deepEqual(
    scriptConditions(script("nightly", { state: "scheduled", schedule: "0 3 * * *" }), ctx),
    [],
  );
});

Deno.test("scriptConditions() raises nothing for a failing check whose action asks for no alert", () => {
  const quiet = script("rates", {
    checks: [{ name: "silence", status: "failing", reason: "no output for 5m", alert: false }],
  });
  assert.deepEqual(scriptConditions(quiet, ctx), []);
});

Deno.test("scriptConditions() adds what only the agent knows: the stderr tail, the retry cadence, a link", () => {
  const [condition] = scriptConditions(
    script("rates", { state: "crash-looping", restarts: 4, lastExit: exitAt(10, 1) }),
    { ...ctx, link: "http://127.0.0.1:8791/" },
    { stderrTail: ["Traceback"], crashLoopNote: "Retrying every 5m until a run lasts 10m." },
  );
  assert.equal(
    condition.alert.text,
    "4 restarts; last exit code 1. Retrying every 5m until a run lasts 10m.",
  );
  assert.deepEqual(condition.alert.stderrTail, ["Traceback"]);
  assert.equal(condition.alert.link, "http://127.0.0.1:8791/");
});

Deno.test("outside its active hours a relaxed script alerts as a warning, one run as usual not at all", () => {
  const crashing = { state: "crash-looping", restarts: 7, lastExit: exitAt(1000, 3) };
  const [relaxed] = scriptConditions(script("rates", { ...crashing, offHours: "relax" }), ctx);
  assert.equal(relaxed.alert.severity, "warning");
  assert.equal(
    relaxed.alert.text,
    "7 restarts; last exit code 3. (Outside its active hours: a warning, not critical.)",
  );
  assert.deepEqual(scriptConditions(script("rates", { ...crashing, offHours: "run" }), ctx), []);
  assert.deepEqual(
    scriptConditions(script("rates", { state: "stopped", offHours: "stop" }), ctx),
    [],
  );
});
