import assert from "node:assert/strict";
import { CollectorAlerts } from "./alerts.ts";
import { createApp } from "../app.ts";
import { parseConfig, type ResolvedCollectorConfig } from "../config/load.ts";
import { serve } from "../serve.ts";
import { Store } from "../store/store.ts";
import type { ScriptSummary } from "../../shared/protocol.ts";
import { ingestRequest, script } from "../_testing.ts";

/** A local stand-in for Slack: records each posted body. */
function slack() {
  const bodies: { text: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    bodies.push(JSON.parse(await req.text()));
    return new Response("ok");
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hook`,
    bodies,
    close: () => server.shutdown(),
  };
}

interface Fixture {
  config: ResolvedCollectorConfig;
  store: Store;
  alerts: CollectorAlerts;
  clock: { now(): number; advance(ms: number): void };
  bodies: { text: string }[];
  ingest(host: string, options?: { site?: string; scripts?: ScriptSummary[] }): Promise<void>;
  /** Runs the offline check as `serve` does and waits for delivery. */
  check(): Promise<void>;
}

async function withAlerts(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const hook = slack();
  let t = Date.parse("2026-05-01T12:00:00Z");
  const clock = { now: () => t, advance: (ms: number) => void (t += ms) };
  const config = parseConfig(
    `[collector]\noffline_after = "30s"\n\n[webhooks.ops]\nkind = "slack"\nurl = "${hook.url}"\n\n` +
      `[notify]\ngroup_wait = "10s"\n\n[[notify.routes]]\nwebhooks = ["ops"]\n`,
    { path: "/tmp/collector.toml", vars: {} },
  );
  const store = new Store(kv);
  const alerts = new CollectorAlerts({ kv, store, config, clock });
  await alerts.start();
  try {
    await fn({
      config,
      store,
      alerts,
      clock,
      bodies: hook.bodies,
      ingest: async (host, options = {}) => {
        await store.ingest(ingestRequest({ host, ...options }), {
          now: clock.now(),
          tokenName: "t",
        });
      },
      check: async () => {
        await alerts.update(await store.markOffline(clock.now(), config.offlineAfterMs));
        await alerts.idle();
      },
    });
  } finally {
    await alerts.close();
    await hook.close();
    kv.close();
  }
}

Deno.test("an agent that stops reporting gets one message after offline_after and group_wait", async () => {
  await withAlerts(async ({ clock, bodies, ingest, check, alerts }) => {
    await ingest("ws-01");
    clock.advance(20_000);
    await check();
    assert.equal(bodies.length, 0, "not offline yet");
    clock.advance(11_000);
    await check();
    assert.deepEqual(alerts.firing(), { "agent-offline": { critical: 1 } });
    assert.equal(bodies.length, 0, "group_wait holds it");
    clock.advance(10_000);
    await check();
    assert.equal(bodies.length, 1);
    assert.match(bodies[0].text, /\[FIRING\] CRITICAL ws-01 is offline \(BFI4\)/);
    clock.advance(60_000);
    await check();
    assert.equal(bodies.length, 1, "no repeat before repeat_interval");
  });
});

Deno.test("three agents going offline at once give one grouped message", async () => {
  await withAlerts(async ({ clock, bodies, ingest, check }) => {
    for (const host of ["ws-01", "ws-02", "ws-03"]) await ingest(host);
    clock.advance(31_000);
    await check();
    clock.advance(10_000);
    await check();
    assert.equal(bodies.length, 1);
    assert.match(bodies[0].text, /agent-offline: 3 hosts at BFI4/);
    const all = JSON.stringify(bodies[0]);
    for (const host of ["ws-01", "ws-02", "ws-03"]) assert.ok(all.includes(host), host);
  });
});

Deno.test("an offline agent that reports again gets a resolved message", async () => {
  await withAlerts(async ({ clock, bodies, ingest, check, alerts }) => {
    await ingest("ws-01");
    clock.advance(31_000);
    await check();
    clock.advance(10_000);
    await check();
    assert.equal(bodies.length, 1);
    await ingest("ws-01");
    await check();
    assert.deepEqual(alerts.firing(), {});
    assert.equal(bodies.length, 1, "the resolved message waits group_wait too");
    clock.advance(10_000);
    await check();
    assert.equal(bodies.length, 2);
    assert.match(bodies[1].text, /\[RESOLVED\] CRITICAL ws-01 is offline \(BFI4\)/);
  });
});

Deno.test("agents silent when the collector starts are alerted only after offline_after of uptime", async () => {
  await withAlerts(async ({ clock, bodies, store, check, alerts }) => {
    // Reported long before this collector started.
    await store.ingest(ingestRequest({ host: "ws-09" }), {
      now: clock.now() - 3_600_000,
      tokenName: "t",
    });
    await check();
    assert.deepEqual(alerts.firing(), {});
    clock.advance(30_000);
    await check();
    assert.deepEqual(alerts.firing(), { "agent-offline": { critical: 1 } });
    clock.advance(10_000);
    await check();
    assert.equal(bodies.length, 1);
  });
});

const crashing = () => [
  script("rates", {
    state: "crash-looping",
    restarts: 9,
    lastExit: { at: "2026-05-01T11:59:50Z", code: 2, signal: null },
  }),
];

Deno.test("the same script failure on three agents at two sites is one message listing them", async () => {
  await withAlerts(async ({ clock, bodies, ingest, check, alerts }) => {
    await ingest("ws-01", { site: "BFI4", scripts: crashing() });
    await ingest("ws-02", { site: "BFI4", scripts: crashing() });
    await ingest("ws-07", { site: "SEA1", scripts: crashing() });
    await check();
    assert.deepEqual(alerts.firing(), { "crash-looping": { critical: 3 } });
    assert.equal(bodies.length, 0, "group_wait holds it");
    clock.advance(10_000);
    await check();
    assert.equal(bodies.length, 1);
    assert.match(bodies[0].text, /crash-looping: 3 scripts at 2 sites/);
    const all = JSON.stringify(bodies[0]);
    for (const where of ["ws-01", "ws-02", "ws-07 (SEA1)"]) assert.ok(all.includes(where), where);
  });
});

Deno.test("a script alert resolves when the script recovers, and the store keeps its life", async () => {
  await withAlerts(async ({ clock, bodies, ingest, check, alerts, store }) => {
    await ingest("ws-07", { scripts: crashing() });
    await check();
    const [fired] = await store.alerts.list({ state: "firing" });
    assert.equal(fired.rule, "crash-looping");
    assert.equal(fired.key, "crash-looping|BFI4|ws-07|rates|");
    assert.equal(fired.title, "rates is crash-looping on ws-07 (BFI4)");
    assert.equal(fired.firedAt, new Date(clock.now()).toISOString());
    clock.advance(10_000);
    await check();
    assert.equal(bodies.length, 1);
    assert.match(bodies[0].text, /\[FIRING\] CRITICAL rates is crash-looping on ws-07 \(BFI4\)/);
    await ingest("ws-07", { scripts: [script("rates")] });
    await check();
    assert.deepEqual(alerts.firing(), {});
    assert.deepEqual(await store.alerts.list({ state: "firing" }), []);
    const [resolved] = await store.alerts.list({ state: "resolved" });
    assert.equal(resolved.id, fired.id);
    assert.equal(resolved.resolvedAt, new Date(clock.now()).toISOString());
    clock.advance(10_000);
    await check();
    assert.equal(bodies.length, 2);
    assert.match(bodies[1].text, /\[RESOLVED\] CRITICAL rates is crash-looping/);
  });
});

Deno.test("a script stopped by its active hours did not recover: its alert stays firing until they open", async () => {
  await withAlerts(async ({ clock, ingest, check, store }) => {
    await ingest("ws-07", { scripts: crashing() });
    await check();
    assert.equal((await store.alerts.list({ state: "firing" })).length, 1);
    // 18:00: the calendar closes and the agent stops it.
    clock.advance(10_000);
    await ingest("ws-07", { scripts: [script("rates", { state: "stopped", offHours: "stop" })] });
    await check();
    assert.equal((await store.alerts.list({ state: "firing" })).length, 1, "held, not resolved");
    // 06:00: it opens, the script starts and runs: now it has recovered.
    clock.advance(10_000);
    await ingest("ws-07", { scripts: [script("rates")] });
    await check();
    assert.deepEqual(await store.alerts.list({ state: "firing" }), []);
  });
});

Deno.test("the scripts of an offline agent are not evaluated: the offline alert covers them", async () => {
  await withAlerts(async ({ clock, bodies, store, check, alerts }) => {
    // Its last report, long before this collector started, had a crash-loop.
    await store.ingest(ingestRequest({ host: "ws-09", scripts: crashing() }), {
      now: clock.now() - 3_600_000,
      tokenName: "t",
    });
    await check();
    assert.deepEqual(alerts.firing(), {});
    clock.advance(30_000);
    await check();
    clock.advance(10_000);
    await check();
    assert.deepEqual(alerts.firing(), { "agent-offline": { critical: 1 } });
    assert.equal(bodies.length, 1);
    assert.match(bodies[0].text, /ws-09 is offline/);
  });
});

Deno.test("a script alert of an agent that goes offline stays firing until it reports again", async () => {
  await withAlerts(async ({ clock, ingest, check, alerts }) => {
    await ingest("ws-07", { scripts: crashing() });
    await check();
    clock.advance(31_000);
    await check();
    assert.deepEqual(alerts.firing(), {
      "agent-offline": { critical: 1 },
      "crash-looping": { critical: 1 },
    });
    await ingest("ws-07", { scripts: [script("rates")] });
    await check();
    assert.deepEqual(alerts.firing(), {});
  });
});

Deno.test("GET /api/v1/alerts lists alerts by state and site; POST .../ack records the token", async () => {
  await withAlerts(async ({ config, store, ingest, check, clock }) => {
    const app = createApp({ store, config, clock });
    const { token } = await store.createToken({
      kind: "api",
      name: "ops-desk",
      role: "operator",
      now: clock.now(),
    });
    const api = (path: string, init: RequestInit = {}) =>
      app.request(path, { ...init, headers: { authorization: `Bearer ${token}` } });
    await ingest("ws-07", { site: "SEA1", scripts: crashing() });
    await ingest("ws-01", { site: "BFI4", scripts: [script("rates", { state: "failed" })] });
    await check();
    const all = (await (await api("/api/v1/alerts?state=firing")).json()).alerts;
    assert.deepEqual(all.map((a: { rule: string }) => a.rule).sort(), [
      "crash-looping",
      "script-down",
    ]);
    const seattle = await (await api("/api/v1/alerts?site=SEA1")).json();
    assert.equal(seattle.alerts.length, 1);
    const { id } = seattle.alerts[0];
    assert.equal((await (await api("/api/v1/alerts?state=resolved")).json()).alerts.length, 0);
    const acked = await api(`/api/v1/alerts/${id}/ack`, { method: "POST" });
    assert.equal(acked.status, 200);
    const { alert } = await acked.json();
    assert.equal(alert.acknowledgedBy, "api-token:ops-desk");
    assert.equal(alert.acknowledgedAt, new Date(clock.now()).toISOString());
    const missing = await api("/api/v1/alerts/alert-nope/ack", { method: "POST" });
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error, 'No alert "alert-nope"');
    const bad = await api("/api/v1/alerts?state=open");
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /^state: expected one of/);
  });
});

Deno.test("serve() sends one offline message for an agent that stops ingesting, then resolved", async () => {
  const kv = await Deno.openKv(":memory:");
  const hook = slack();
  const config = parseConfig(
    `[collector]\nlisten = "127.0.0.1:0"\noffline_after = "1s"\n\n` +
      `[webhooks.ops]\nkind = "slack"\nurl = "${hook.url}"\n\n` +
      `[notify]\ngroup_wait = "0s"\n\n[[notify.routes]]\nwebhooks = ["ops"]\n`,
    { path: "/tmp/collector.toml", vars: {} },
  );
  const controller = new AbortController();
  const listening = Promise.withResolvers<{ port: number }>();
  const served = serve({ config, kv, signal: controller.signal, onListen: listening.resolve });
  const until = async (what: string, ok: () => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  try {
    const { port } = await listening.promise;
    const token = (await new Store(kv).createToken({
      kind: "agent",
      name: "ws",
      site: "BFI4",
      now: Date.now(),
    })).token;
    const ingest = async () => {
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/ingest`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify(ingestRequest({ host: "ws-01" })),
      });
      assert.equal(response.status, 200);
      await response.body?.cancel();
    };
    await ingest();
    await until("the offline message", () => hook.bodies.length >= 1);
    assert.match(hook.bodies[0].text, /\[FIRING\] CRITICAL ws-01 is offline \(BFI4\)/);
    await ingest();
    await until("the resolved message", () => hook.bodies.length >= 2);
    assert.match(hook.bodies[1].text, /\[RESOLVED\] CRITICAL ws-01 is offline \(BFI4\)/);
    assert.equal(hook.bodies.length, 2);
  } finally {
    controller.abort();
    await served;
    await hook.close();
    kv.close();
  }
});

Deno.test("the alert state of 2,000 offline agents is saved and restored across a restart", async () => {
  await withAlerts(async ({ clock, ingest, check, alerts, config, store }) => {
    const hosts = Array.from({ length: 2000 }, (_, i) => `ws-${String(i).padStart(4, "0")}`);
    for (const host of hosts) await ingest(host);
    clock.advance(31_000);
    await check();
    clock.advance(10_000);
    await check();
    assert.equal(alerts.firing()["agent-offline"]?.critical, 2000);
    await alerts.close();

    const again = new CollectorAlerts({ kv: store.kv, store, config, clock });
    await again.start();
    try {
      assert.equal(again.firing()["agent-offline"]?.critical, 2000, "restored, not started afresh");
    } finally {
      await again.close();
    }
  });
});

Deno.test("an expired token an agent reports is a token-invalid alert at the collector, resolved on renewal", async () => {
  await withAlerts(async ({ clock, bodies, check, alerts, store }) => {
    const report = async (state: string) => {
      await store.ingest({
        ...ingestRequest({ host: "ws-01" }),
        tokens: [{
          name: "sso",
          state,
          expiresAt: "2026-05-01T11:00:00.000Z",
          secondsLeft: -3600,
          predicted: false,
          confidence: 1,
          usedBy: ["rates"],
        }],
      }, { now: clock.now(), tokenName: "t" });
    };
    await report("expired");
    await check();
    assert.deepEqual(alerts.firing(), { "token-invalid": { critical: 1 } });
    clock.advance(10_000);
    await report("expired");
    await check();
    assert.equal(bodies.length, 1);
    assert.match(bodies[0].text, /token sso is expired on ws-01 \(BFI4\)/);
    await report("valid");
    await check();
    assert.deepEqual(alerts.firing(), {});
    const [record] = await store.alerts.list();
    assert.equal(record.rule, "token-invalid");
    assert.notEqual(record.resolvedAt, null);
  });
});

Deno.test("a save that races the leader's lease renewal is made again with the renewed lease", async () => {
  const kv = await Deno.openKv(":memory:");
  let t = Date.parse("2026-05-01T12:00:00Z");
  const clock = { now: () => t };
  const config = parseConfig(
    `[collector]\noffline_after = "30s"\n\n[webhooks.ops]\nkind = "slack"\n` +
      `url = "http://127.0.0.1:9/hook"\n\n[[notify.routes]]\nwebhooks = ["ops"]\n`,
    { path: "/tmp/collector.toml", vars: {} },
  );
  const store = new Store(kv);
  // The lease as the fence first saw it, then renewed: the first write carries the old one.
  const lease = ["leader", "periodic"];
  const before = (await kv.set(lease, 1)).versionstamp;
  const renewed = (await kv.set(lease, 2)).versionstamp;
  let fenced = 0;
  const fence = (op: Deno.AtomicOperation) =>
    op.check({ key: lease, versionstamp: fenced++ === 0 ? before : renewed });
  const alerts = new CollectorAlerts({ kv, store, config, clock, fence });
  try {
    await alerts.start();
    await store.ingest(ingestRequest({ host: "ws-1" }), { now: t, tokenName: "t" });
    t += 31_000;
    await alerts.update(await store.markOffline(t, config.offlineAfterMs));
    await alerts.idle();
    assert.ok(fenced >= 2, `the state was written ${fenced} time(s)`);
  } finally {
    await alerts.close();
  }
  const again = new CollectorAlerts({ kv, store, config, clock });
  try {
    await again.start();
    assert.equal(again.firing()["agent-offline"]?.critical, 1, "saved, and restored");
  } finally {
    await again.close();
    kv.close();
  }
});
