import assert from "node:assert/strict";
import { scriptConditions } from "../../shared/notify/alert_rules.ts";
import { toScriptSummary } from "../uplink/ingest_body.ts";
import { script } from "../../tests/_status_fixtures.ts";
import { tokenConditions, tokenWarnings } from "./alerts.ts";
import { tokenStatus } from "./_testing.ts";

const CTX = { site: "BFI4", host: "ws-17", now: Date.parse("2026-03-02T10:00:00Z") };

Deno.test("a token inside a lead time gives one warning keyed by token, lead time and expiry", () => {
  const expiring = tokenStatus("midway", { state: "expiring", warning: 3600_000 });
  const [warning] = tokenWarnings([expiring, tokenStatus("api")], CTX);
  assert.equal(warning.dedupeKey, "token-expiring|BFI4|ws-17|midway|1h|2026-03-02T12:00:00.000Z");
  assert.equal(warning.alert.title, "token midway expires within 1h on ws-17 (BFI4)");
  assert.equal(warning.alert.severity, "warning");
  assert.equal(tokenWarnings([tokenStatus("api")], CTX).length, 0);
});

Deno.test("an expired token and a failing refresh are conditions; a valid token is none", () => {
  const expired = tokenStatus("midway", {
    state: "expired",
    reason: "expired 5m ago",
    refresh: {
      lastRunAt: null,
      lastOk: false,
      lastReason: "refresh command exit code 1",
      failures: 2,
      nextTryAt: "2026-03-02T10:01:00.000Z",
      running: false,
    },
  });
  const conditions = tokenConditions([expired, tokenStatus("api")], CTX);
  assert.deepEqual(conditions.map((c) => [c.key, c.alert.severity]), [
    ["token-invalid|BFI4|ws-17||token:midway", "critical"],
    ["token-refresh-failed|BFI4|ws-17||token:midway", "critical"],
  ]);
  assert.equal(conditions[0].alert.text, "expired 5m ago. rates waits for it.");
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
