import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { parseConfig } from "../config/load.ts";
import { IngestCounters, renderCollectorMetrics } from "./metrics.ts";
import { Store } from "../store/store.ts";
import { events, ingestRequest, script } from "../_testing.ts";
import { promtoolCheck } from "../../tests/_promtool.ts";

async function withApp(
  fn: (
    f: {
      app: ReturnType<typeof createApp>;
      agentToken: string;
      /** A second agent token of the site: a token speaks for one host only. */
      otherToken: string;
      apiToken: string;
    },
  ) => Promise<
    void
  >,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new Store(kv);
    const config = parseConfig("", { path: "/tmp/collector.toml", vars: {} });
    const now = Date.now();
    const agentToken = (await store.createToken({ kind: "agent", name: "a", site: "BFI4", now }))
      .token;
    const apiToken =
      (await store.createToken({ kind: "api", name: "ops", role: "admin", now })).token;
    const otherToken =
      (await store.createToken({ kind: "agent", name: "b", site: "BFI4", now })).token;
    const app = createApp({
      store,
      config,
      alerts: {
        firing: () => ({ "agent-offline": { critical: 2 } }),
        outboxCounts: () =>
          Promise.resolve({
            queued: 1,
            sending: 0,
            sent: 4,
            retrying: 0,
            failed: 0,
            "dead-lettered": 0,
            uncertain: 0,
            duplicate: 0,
            silenced: 0,
          }),
      },
    });
    await fn({ app, agentToken, otherToken, apiToken });
  } finally {
    kv.close();
  }
}

function ingest(app: ReturnType<typeof createApp>, token: string, body: unknown) {
  return app.request("/api/v1/ingest", {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

Deno.test("GET /metrics needs an API token", async () => {
  await withApp(async ({ app, agentToken }) => {
    assert.equal((await app.request("/metrics")).status, 401);
    const agent = await app.request("/metrics", {
      headers: { authorization: `Bearer ${agentToken}` },
    });
    assert.equal(agent.status, 401);
  });
});

Deno.test("GET /metrics counts ingests and events, agents by site, scripts by state", async () => {
  await withApp(async ({ app, agentToken, otherToken, apiToken }) => {
    const first = ingestRequest({
      host: "ws-01",
      events: events([1, 2, 3]),
      scripts: [script("rates"), script("idle", { state: "stopped" })],
    });
    assert.equal((await ingest(app, agentToken, first)).status, 200);
    assert.equal((await ingest(app, otherToken, ingestRequest({ host: "ws-02" }))).status, 200);
    assert.equal((await ingest(app, "smag_nope", first)).status, 401);
    const response = await app.request("/metrics", {
      headers: { authorization: `Bearer ${apiToken}` },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const text = await response.text();
    const samples = text.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
    assert.deepEqual(samples, [
      'scriptmon_collector_ingest_requests_total{code="200"} 2',
      'scriptmon_collector_ingest_requests_total{code="401"} 1',
      "scriptmon_collector_ingest_events_total 3",
      'scriptmon_collector_agents{site="BFI4",state="online"} 2',
      'scriptmon_collector_agents{site="BFI4",state="offline"} 0',
      'scriptmon_collector_scripts{site="BFI4",state="running"} 3',
      'scriptmon_collector_scripts{site="BFI4",state="stopped"} 1',
      'scriptmon_collector_alerts_firing{rule="agent-offline",severity="critical"} 2',
      'scriptmon_collector_outbox_messages{state="queued"} 1',
      'scriptmon_collector_outbox_messages{state="sending"} 0',
      'scriptmon_collector_outbox_messages{state="sent"} 4',
      'scriptmon_collector_outbox_messages{state="retrying"} 0',
      'scriptmon_collector_outbox_messages{state="failed"} 0',
      'scriptmon_collector_outbox_messages{state="dead-lettered"} 0',
      'scriptmon_collector_outbox_messages{state="uncertain"} 0',
      'scriptmon_collector_outbox_messages{state="duplicate"} 0',
      'scriptmon_collector_outbox_messages{state="silenced"} 0',
    ]);
    assert.deepEqual(await promtoolCheck(text), { code: 0, complaints: "" });
  });
});

Deno.test("renderCollectorMetrics() output with odd label values passes `promtool check metrics`", async () => {
  const counters = new IngestCounters();
  counters.record({ status: 200, events: 5 });
  const agent = (site: string, online: boolean) => ({
    site,
    host: "h",
    version: "1",
    os: "linux",
    pid: 1,
    startedAt: "",
    firstSeenAt: "",
    lastSeenAt: "",
    clockSkewMs: 0,
    online,
    offlineAt: null,
    ackedSeq: 0,
    ahead: [],
    dropped: 0,
    tokenName: "t",
    scriptChunks: 1,
    scriptCount: 1,
  });
  const text = renderCollectorMetrics({
    counters,
    fleet: [
      { agent: agent('odd "site" \\ x', true), scripts: [script("a", { state: "crash-looping" })] },
      { agent: agent("BFI4", false), scripts: [] },
    ],
    firing: {},
    outbox: {},
  });
  assert.match(text, /scriptmon_collector_agents\{site="odd \\"site\\" \\\\ x",state="online"\} 1/);
  assert.deepEqual(await promtoolCheck(text), { code: 0, complaints: "" });
});
