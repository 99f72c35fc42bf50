import assert from "node:assert/strict";
import { clearSecrets, registerSecret } from "../../shared/redact.ts";
import {
  ingestRequestSchema,
  PROTOCOL_VERSION,
  type ScriptSummary,
  type WireEvent,
} from "../../shared/protocol.ts";
import { fitIngest } from "./ingest_body.ts";

/** The agent of every ingest built here. */
const AGENT = {
  site: "BFI4",
  host: "ws-01",
  version: "0.0.0",
  os: "linux",
  pid: 1,
  startedAt: "2026-05-01T11:00:00.000Z",
  now: "2026-05-01T12:00:00.000Z",
};

Deno.test("no registered secret leaves the agent in an ingest: reasons, log lines, acks", () => {
  const secret = "https://hooks.slack.com/services/T0/B0/abcdefSECRET";
  registerSecret(secret);
  try {
    const event: WireEvent = {
      seq: 1,
      at: "2026-05-01T12:00:00.000Z",
      kind: "check",
      script: "rates",
      data: { reason: `probe printed ${secret}` },
    };
    const { body } = fitIngest(
      (scripts, events) => ({
        protocol: PROTOCOL_VERSION,
        agent: AGENT,
        scripts,
        events,
        acks: [{ id: "c1", ok: false, message: `cannot post to ${secret}`, at: event.at }],
      }),
      [],
      [event],
    );
    assert.ok(!body.includes("abcdefSECRET"), body);
    assert.equal(JSON.parse(body).events[0].data.reason, "probe printed [redacted]");
  } finally {
    clearSecrets();
  }
});

Deno.test("a secret of digits or ending in a backslash cannot break the ingest body", () => {
  registerSecret("12345678");
  registerSecret("abcdefg\\");
  try {
    const { body } = fitIngest(
      (scripts, events) => ({
        protocol: PROTOCOL_VERSION,
        agent: { ...AGENT, pid: 12345678 },
        scripts,
        events,
      }),
      [],
      [{
        seq: 1,
        at: "2026-05-01T12:00:00.000Z",
        kind: "check",
        data: { reason: 'abcdefg\\"x and 12345678' },
      }],
    );
    const parsed = JSON.parse(body);
    assert.equal(parsed.agent.pid, 12345678, "numbers are numbers");
    assert.equal(parsed.events[0].data.reason, '[redacted]"x and [redacted]');
  } finally {
    clearSecrets();
  }
});

Deno.test("fitIngest() sends an event too big on its own reduced, and only the scripts that fit", () => {
  const event = (seq: number, reason: string): WireEvent => ({
    seq,
    at: "2026-05-01T12:00:00.000Z",
    kind: "exit",
    script: "s",
    data: { reason },
  });
  const huge = event(1, "x".repeat(20_000));
  const scripts: ScriptSummary[] = Array.from({ length: 1000 }, (_, i) => ({
    name: `s${i}`,
    state: "running",
    health: "ok",
    enabled: true,
    pid: null,
    uptimeMs: null,
    restarts: 0,
    rssBytes: null,
    cpuPercent: null,
    lastExit: null,
    checks: [],
    reason: null,
  }));
  const { body, sent } = fitIngest(
    (list, events) => ({
      protocol: PROTOCOL_VERSION,
      agent: AGENT,
      scripts: list,
      events,
      acks: [],
      dropped: 0,
    }),
    scripts,
    [huge, event(2, "small")],
    10_000,
  );
  assert.ok(new TextEncoder().encode(body).length <= 10_000);
  assert.deepEqual(sent, [{
    ...huge,
    data: { truncated: true, size: new TextEncoder().encode(JSON.stringify(huge)).length },
  }]);
  const parsed = ingestRequestSchema.parse(JSON.parse(body));
  assert.ok(parsed.scripts.length > 0 && parsed.scripts.length < 1000);
  assert.deepEqual(parsed.events, sent);
});
