import assert from "node:assert/strict";
import { scriptConditions } from "../../shared/notify/alert_rules.ts";
import { scriptSummarySchema } from "../../shared/protocol.ts";
import { script } from "../../tests/_status_fixtures.ts";
import { toScriptSummary } from "../uplink/ingest_body.ts";

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
