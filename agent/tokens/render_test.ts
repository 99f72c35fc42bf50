import assert from "node:assert/strict";
import type { StatusBody } from "../local_api/status.ts";
import { toTokenSummary } from "../uplink/ingest_body.ts";
import { renderMetrics } from "../local_api/metrics.ts";
import { renderStatusFragment } from "../local_api/status_page.tsx";
import { ingestRequestSchema, PROTOCOL_VERSION } from "../../shared/protocol.ts";
import { promtoolCheck } from "../../tests/_promtool.ts";
import { iso, NOW } from "../../tests/_status_fixtures.ts";
import { tokenStatus } from "./_testing.ts";

function body(): StatusBody {
  return {
    agent: {
      version: "0.4.0",
      pid: 4242,
      site: "BFI4",
      host: "ws-17",
      configPath: "/etc/scriptmon/config.toml",
      envName: null,
      startedAt: iso(3600),
      configError: null,
      resources: null,
      checks: [],
      collector: null,
    },
    scripts: [],
    tokens: [
      tokenStatus("midway", { state: "expiring", reason: "expires in 50m", secondsLeft: 3000 }),
      tokenStatus("api", {
        format: "mtime",
        expiresAt: null,
        secondsLeft: null,
        confidence: 0,
        reason: "expiry not known yet",
      }),
    ],
  };
}

Deno.test("/metrics has each token's seconds until expiry and its state, and promtool takes it", async () => {
  const text = renderMetrics(body(), { now: NOW });
  const lines = text.split("\n").filter((l) => l.startsWith("scriptmon_token_"));
  // midway expires at 12:00, NOW is 10:00: 7200 s; api's expiry is unknown: no sample.
  assert.deepEqual(lines.filter((l) => l.startsWith("scriptmon_token_expiry_seconds")), [
    'scriptmon_token_expiry_seconds{token="midway"} 7200',
  ]);
  assert.ok(lines.includes('scriptmon_token_state{token="midway",state="expiring"} 1'));
  assert.ok(lines.includes('scriptmon_token_state{token="api",state="valid"} 1'));
  const { code, complaints } = await promtoolCheck(text);
  assert.equal(complaints, "", `promtool complained about:\n${text}`);
  assert.equal(code, 0);
});

Deno.test("the local page shows every token with its state and time left", () => {
  const html = renderStatusFragment(body(), { now: NOW });
  assert.match(
    html,
    /token midway<\/span><span class="badge state token-expiring tone-warn">expiring/,
  );
  assert.match(html, /<dt>expires<\/dt><dd>in 50m<\/dd>/);
  assert.match(html, /<dt>expires<\/dt><dd>unknown<\/dd>/);
});

Deno.test("the heartbeat carries each token's state and time left, which the protocol accepts", () => {
  const tokens = body().tokens!.map(toTokenSummary);
  assert.deepEqual(tokens[0], {
    name: "midway",
    state: "expiring",
    expiresAt: "2026-03-02T12:00:00.000Z",
    secondsLeft: 3000,
    predicted: false,
    confidence: 1,
    usedBy: ["rates"],
  });
  const parsed = ingestRequestSchema.safeParse({
    protocol: PROTOCOL_VERSION,
    agent: {
      site: "BFI4",
      host: "ws-17",
      version: "0.4.0",
      os: "linux",
      pid: 1,
      startedAt: iso(60),
      now: iso(0),
    },
    scripts: [],
    events: [],
    tokens,
  });
  assert.equal(parsed.success, true, JSON.stringify(parsed.error?.issues));
});
