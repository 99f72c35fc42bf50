import assert from "node:assert/strict";
import { tokenConditions } from "./alert_rules.ts";

const now = Date.parse("2026-05-01T12:00:00Z");
const ctx = { site: "BFI4", host: "ws-07", now };

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
