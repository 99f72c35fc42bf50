import assert from "node:assert/strict";
import { clearSecrets, registerSecret } from "../../shared/redact.ts";
import { PROTOCOL_VERSION, type WireEvent } from "../../shared/protocol.ts";
import { fitIngest } from "./ingest_body.ts";

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
        agent: {
          site: "BFI4",
          host: "ws-01",
          version: "0.0.0",
          os: "linux",
          pid: 1,
          startedAt: "2026-05-01T11:00:00.000Z",
          now: "2026-05-01T12:00:00.000Z",
        },
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
        agent: {
          site: "BFI4",
          host: "ws-01",
          version: "0.0.0",
          os: "linux",
          pid: 12345678,
          startedAt: "2026-05-01T11:00:00.000Z",
          now: "2026-05-01T12:00:00.000Z",
        },
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
