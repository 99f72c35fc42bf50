import assert from "node:assert/strict";
import { CollectorAlerts } from "../fleet/alerts.ts";
import { createApp } from "../app.ts";
import { scopedMessage } from "./alerting_routes.ts";
import { parseConfig, type ResolvedCollectorConfig } from "../config/load.ts";
import { Store } from "../store/store.ts";
import { ingestRequest } from "../_testing.ts";

/** Two local stand-ins for Slack webhooks, recording each posted text. */
function hooks() {
  const texts: Record<"ops" | "night", string[]> = { ops: [], night: [] };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const name = new URL(req.url).pathname.slice(1) as "ops" | "night";
    texts[name].push((await req.json()).text);
    return new Response("ok");
  });
  return {
    url: (name: string) => `http://127.0.0.1:${server.addr.port}/${name}`,
    texts,
    close: () => server.shutdown(),
  };
}

interface Fixture {
  config: ResolvedCollectorConfig;
  alerts: CollectorAlerts;
  texts: Record<"ops" | "night", string[]>;
  api(path: string, init?: RequestInit): Promise<Response>;
  /** BFI4/ws-01 reports, then goes silent past offline_after: its alert is due and delivered. */
  offline(host: string): Promise<void>;
  configText(routeTo: string): string;
}

async function withFixture(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const hook = hooks();
  let t = Date.parse("2026-05-01T12:00:00Z");
  const clock = { now: () => t };
  const configText = (routeTo: string) =>
    `[collector]\noffline_after = "30s"\n\n` +
    `[webhooks.ops]\nkind = "slack"\nurl = "${hook.url("ops")}"\n\n` +
    `[webhooks.night]\nkind = "slack"\nurl = "${hook.url("night")}"\n\n` +
    `[notify]\ngroup_wait = "0s"\n\n[[notify.routes]]\nwebhooks = ["${routeTo}"]\n\n` +
    `[[notify.silences]]\nid = "maintenance"\nmatch = { site = "NONE" }\nuntil = "2099-01-01T00:00:00Z"\n`;
  const config = parseConfig(configText("ops"), { path: "/tmp/collector.toml", vars: {} });
  const store = new Store(kv);
  const alerts = new CollectorAlerts({ kv, store, config, clock });
  await alerts.start();
  const app = createApp({ store, config, clock, alerts, control: alerts });
  const token =
    (await store.createToken({ kind: "api", name: "ops", role: "admin", now: t })).token;
  // The offline alert waits for the collector to have been up for offline_after.
  t += 31_000;
  try {
    await fn({
      config,
      alerts,
      texts: hook.texts,
      configText,
      api: async (path, init = {}) =>
        await app.request(path, {
          ...init,
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": "application/json",
            ...init.headers,
          },
        }),
      offline: async (host) => {
        await store.ingest(ingestRequest({ host }), { now: t, tokenName: host });
        t += 31_000;
        await alerts.update(await store.markOffline(t, 30_000));
        await alerts.idle();
      },
    });
  } finally {
    await alerts.close();
    await hook.close();
    kv.close();
  }
}

const post = (body: unknown): RequestInit => ({ method: "POST", body: JSON.stringify(body) });

Deno.test("a silence added through the API hushes matching alerts; it is listed and removable", async () => {
  await withFixture(async ({ api, offline, texts }) => {
    const added = await api("/api/v1/silences", post({ match: { host: "ws-01" }, for: "2h" }));
    assert.equal(added.status, 201, await added.clone().text());
    const { silence } = await added.json();
    assert.equal(silence.createdBy, "api-token:ops");

    await offline("ws-01");
    assert.deepEqual(texts.ops, [], "silenced: not delivered");
    const history = await (await api("/api/v1/notifications?state=silenced")).json();
    assert.equal(history.notifications.length, 1);
    assert.equal(history.notifications[0].payload.alert.host, "ws-01");

    const listed = await (await api("/api/v1/silences")).json();
    assert.deepEqual(listed.silences.map((s: { id: string; source: string }) => [s.id, s.source]), [
      ["maintenance", "config"],
      [silence.id, "api"],
    ]);
    assert.equal((await api(`/api/v1/silences/${silence.id}`, { method: "DELETE" })).status, 200);
    assert.equal((await api(`/api/v1/silences/${silence.id}`, { method: "DELETE" })).status, 404);
    const fromConfig = await api("/api/v1/silences/maintenance", { method: "DELETE" });
    assert.equal(fromConfig.status, 409);
    assert.match((await fromConfig.json()).error, /config file/);

    await offline("ws-02");
    assert.equal(texts.ops.length, 1, "no silence left: delivered");
  });
});

Deno.test("a bad silence is refused with a 400 naming the field", async () => {
  await withFixture(async ({ api }) => {
    const cases: [unknown, RegExp][] = [
      [{ match: { hots: "ws-01" }, for: "1h" }, /match\.hots is not a field/],
      [{ match: {}, for: "1h" }, /at least one field/],
      [{ match: { host: "ws-01" } }, /needs for/],
      [{ match: { host: "ws-01" }, for: "soon" }, /soon/],
    ];
    for (const [body, message] of cases) {
      const response = await api("/api/v1/silences", post(body));
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match((await response.json()).error, message);
    }
    assert.equal((await api("/api/v1/silences", { method: "POST", body: "{" })).status, 400);
  });
});

Deno.test("a route added through the API sends matching alerts to its webhook first", async () => {
  await withFixture(async ({ api, offline, texts }) => {
    const bad = await api("/api/v1/routes", post({ route: { webhooks: ["pager"] } }));
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /unknown webhook "pager"; expected one of ops, night/);

    const added = await api(
      "/api/v1/routes",
      post({ route: { webhooks: ["night"], match: { host: "ws-01" } }, comment: "night shift" }),
    );
    assert.equal(added.status, 201, await added.clone().text());
    const { route } = await added.json();

    await offline("ws-01");
    assert.equal(texts.night.length, 1, "the runtime route matched");
    assert.equal(texts.ops.length, 0, "first match wins");
    assert.match(texts.night[0], /ws-01/);

    const listed = await (await api("/api/v1/routes")).json();
    assert.equal(listed.config.length, 1);
    assert.deepEqual(listed.runtime.map((r: { id: string }) => r.id), [route.id]);
    assert.equal((await api(`/api/v1/routes/${route.id}`, { method: "DELETE" })).status, 200);
    await offline("ws-02");
    assert.equal(texts.ops.length, 1, "back to the config's route");
  });
});

Deno.test("GET /api/v1/notifications filters by site, channel and state, with the provider's answer", async () => {
  await withFixture(async ({ api, offline }) => {
    await offline("ws-01");
    const all = await (await api("/api/v1/notifications")).json();
    assert.equal(all.notifications.length, 1);
    const [message] = all.notifications;
    assert.equal(message.state, "sent");
    assert.equal(message.channel, "ops");
    assert.equal(message.providerStatus, 200);
    assert.equal(all.counts.sent, 1);
    const bySite = async (q: string) =>
      (await (await api(`/api/v1/notifications?${q}`)).json()).notifications.length;
    assert.equal(await bySite("site=BFI4"), 1);
    assert.equal(await bySite("site=DEN2"), 0);
    assert.equal(await bySite("channel=night"), 0);
    assert.equal(await bySite("state=failed"), 0);
    assert.equal((await api("/api/v1/notifications?state=bogus")).status, 400);
  });
});

Deno.test("a reconfigured policy routes the next alerts by the new config", async () => {
  await withFixture(async ({ alerts, offline, texts, configText }) => {
    await offline("ws-01");
    assert.equal(texts.ops.length, 1);
    alerts.reconfigure(parseConfig(configText("night"), { path: "/tmp/collector.toml", vars: {} }));
    await offline("ws-02");
    assert.equal(texts.night.length, 1);
    assert.equal(texts.ops.length, 1);
  });
});

Deno.test("a grouped message shows a caller of some sites only their sites' members", () => {
  const member = (site: string, host: string) => ({
    rule: "crash-looping",
    severity: "critical" as const,
    status: "firing" as const,
    title: `rates is crash-looping on ${host} (${site})`,
    text: "",
    site,
    host,
    at: "2026-05-01T12:00:00.000Z",
    episode: "e",
  });
  const message = {
    id: "m1",
    channel: "ops",
    dedupeKey: "crash-looping|BFI4|ws-01|rates|@1|0|firing|ops",
    state: "sent" as const,
    createdAt: "2026-05-01T12:00:00.000Z",
    updatedAt: "2026-05-01T12:00:00.000Z",
    attempts: 1,
    history: [],
    payload: {
      type: "alert" as const,
      alert: {
        ...member("BFI4", "ws-01"),
        group: [member("SEA8", "ws-09"), member("SEA8", "ws-10")],
      },
    },
  };
  const sea = scopedMessage(message, (s) => s === "SEA8");
  assert.ok(sea !== null && sea.payload.type === "alert");
  assert.deepEqual(
    [sea.payload.alert.host, ...(sea.payload.alert.group ?? []).map((a) => a.host)],
    ["ws-09", "ws-10"],
  );
  assert.ok(!JSON.stringify(sea).includes("BFI4"), "nothing of the other site");
  assert.equal(scopedMessage(message, (s) => s === "DEN2"), null);
});
