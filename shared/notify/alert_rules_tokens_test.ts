import assert from "node:assert/strict";
import type { TokenSummary } from "../protocol.ts";
import { tokenConditions, type TokenFacts, tokenWarnings } from "./alert_rules_tokens.ts";

/** A valid token's summary, used by rates, with overrides. */
function token(name: string, overrides: Partial<TokenSummary> = {}): TokenSummary {
  return {
    name,
    state: "valid",
    expiresAt: "2026-03-02T12:00:00.000Z",
    secondsLeft: 7200,
    predicted: false,
    confidence: 1,
    usedBy: ["rates"],
    ...overrides,
  };
}

/** What the agent knows of a token: a reason, no lead time, no refresh, with overrides. */
function facts(overrides: Partial<TokenFacts> = {}): TokenFacts {
  return { reason: "expires in 2h", warning: null, refresh: null, ...overrides };
}

const CTX = { site: "BFI4", host: "ws-17", now: Date.parse("2026-03-02T10:00:00Z") };

Deno.test("tokenConditions() fires token-invalid for expired or invalid, token-expiring inside warn_before", () => {
  const at = (name: string, state: string) =>
    token(name, { state, expiresAt: "2026-05-01T13:00:00.000Z", secondsLeft: 3600 });
  const ctx = { site: "BFI4", host: "ws-07", now: Date.parse("2026-05-01T12:00:00Z") };
  const conditions = tokenConditions([
    at("sso", "expired"),
    at("api", "invalid"),
    at("jwt", "expiring"),
    at("cookie", "valid"),
    at("file", "unknown"),
  ], ctx);
  assert.deepEqual(conditions.map((c) => [c.alert.rule, c.alert.severity, c.alert.check]), [
    ["token-invalid", "critical", "token:sso"],
    ["token-invalid", "critical", "token:api"],
    ["token-expiring", "warning", "token:jwt"],
  ]);
  assert.equal(conditions[0].key, "token-invalid|BFI4|ws-07||token:sso");
  assert.match(conditions[2].alert.text, /Expiry 2026-05-01T13:00:00.000Z\. Used by rates\./);
});

Deno.test("tokenConditions() with the agent's facts: an expired token and a failing refresh are conditions; a valid token is none", () => {
  const known = new Map([
    [
      "midway",
      facts({
        reason: "expired 5m ago",
        refresh: {
          failures: 2,
          lastReason: "refresh command exit code 1",
          nextTryAt: "2026-03-02T10:01:00.000Z",
        },
      }),
    ],
    ["api", facts()],
  ]);
  const conditions = tokenConditions(
    [token("midway", { state: "expired" }), token("api")],
    CTX,
    known,
  );
  assert.deepEqual(conditions.map((c) => [c.key, c.alert.severity]), [
    ["token-invalid|BFI4|ws-17||token:midway", "critical"],
    ["token-refresh-failed|BFI4|ws-17||token:midway", "critical"],
  ]);
  assert.equal(conditions[0].alert.text, "expired 5m ago. rates waits for it.");
});

Deno.test("tokenConditions() with the agent's facts leaves an expiring token to tokenWarnings()", () => {
  const known = new Map([["midway", facts({ warning: 3600_000 })]]);
  assert.deepEqual(tokenConditions([token("midway", { state: "expiring" })], CTX, known), []);
});

Deno.test("tokenWarnings(): a token inside a lead time gives one warning keyed by token, lead time and expiry", () => {
  const known = new Map([["midway", facts({ warning: 3600_000 })], ["api", facts()]]);
  const [warning] = tokenWarnings(
    [token("midway", { state: "expiring" }), token("api")],
    CTX,
    known,
  );
  assert.equal(warning.dedupeKey, "token-expiring|BFI4|ws-17|midway|1h|2026-03-02T12:00:00.000Z");
  assert.equal(warning.alert.title, "token midway expires within 1h on ws-17 (BFI4)");
  assert.equal(warning.alert.severity, "warning");
  assert.equal(tokenWarnings([token("api")], CTX, known).length, 0);
});
