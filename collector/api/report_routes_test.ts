import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { parseConfig } from "../config/load.ts";
import { Store } from "../store/store.ts";
import { UptimeCache } from "../fleet/uptime_cache.ts";
import { ingestRequest, script } from "../_testing.ts";

const T0 = Date.parse("2026-05-01T00:00:00Z");
const HOUR = 3_600_000;

async function withApp(
  fn: (api: (path: string) => Promise<Response>, store: Store) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new Store(kv);
    const clock = { now: () => T0 + 4 * HOUR };
    const config = parseConfig("", { path: "/tmp/collector.toml", vars: {} });
    const uptime = new UptimeCache(store, clock);
    const app = createApp({ store, config, clock, uptime });
    const token =
      (await store.createToken({ kind: "api", name: "ops", role: "admin", now: T0 })).token;
    const at = (ms: number) => new Date(ms).toISOString();
    await store.ingest(
      ingestRequest({
        scripts: [script("rates", { rssBytes: 5_000_000 })],
        events: [
          {
            seq: 1,
            at: at(T0),
            kind: "state",
            script: "rates",
            data: { from: "stopped", state: "running" },
          },
          {
            seq: 2,
            at: at(T0 + 3 * HOUR),
            kind: "state",
            script: "rates",
            data: { from: "running", state: "backoff" },
          },
        ],
      }),
      { now: T0 + 10_000, tokenName: "ws-01" },
    );
    await uptime.refresh();
    await fn(
      async (path) => await app.request(path, { headers: { authorization: `Bearer ${token}` } }),
      store,
    );
  } finally {
    kv.close();
  }
}

Deno.test("GET /api/v1/reports/uptime gives every script's uptime as JSON or CSV", async () => {
  await withApp(async (api) => {
    const window = `since=${new Date(T0).toISOString()}&until=${
      new Date(T0 + 4 * HOUR).toISOString()
    }`;
    const json = await (await api(`/api/v1/reports/uptime?${window}`)).json();
    assert.equal(json.scripts.length, 1);
    assert.deepEqual(
      { host: json.scripts[0].host, upMs: json.scripts[0].upMs, downMs: json.scripts[0].downMs },
      { host: "ws-01", upMs: 3 * HOUR, downMs: HOUR },
    );
    const csv = await api(`/api/v1/reports/uptime?format=csv&${window}`);
    assert.equal(csv.headers.get("content-type"), "text/csv; charset=utf-8");
    const lines = (await csv.text()).trim().split("\r\n");
    assert.equal(lines[0], "site,host,script,uptimePercent,upMs,downMs,idleMs,unknownMs,restarts");
    assert.equal(lines[1], `BFI4,ws-01,rates,75.000,${3 * HOUR},${HOUR},0,0,0`);
  });
});

Deno.test("a script's history has its uptime, state segments and resource samples", async () => {
  await withApp(async (api) => {
    const response = await api("/api/v1/agents/BFI4/ws-01/scripts/rates/history");
    assert.equal(response.status, 200);
    const history = await response.json();
    assert.equal(
      history.until,
      new Date(T0 + 4 * HOUR).toISOString(),
      "default window: 24 h to now",
    );
    assert.deepEqual(history.segments.map((s: { state: string | null }) => s.state), [
      null,
      "running",
      "backoff",
    ]);
    assert.equal(history.uptime.ratio, 0.75);
    assert.deepEqual(history.resources.map((p: { rssBytes: number }) => p.rssBytes), [5_000_000]);
  });
});

Deno.test("history and report requests with bad windows or unknown scripts are refused", async () => {
  await withApp(async (api) => {
    const cases: [string, number, RegExp][] = [
      ["/api/v1/agents/BFI4/ws-01/scripts/nope/history", 404, /not reported a script "nope"/],
      ["/api/v1/agents/BFI4/ws-99/scripts/rates/history", 404, /No agent BFI4\/ws-99/],
      ["/api/v1/reports/uptime?since=yesterday", 400, /since: expected an ISO time/],
      [
        "/api/v1/reports/uptime?since=2026-05-02T00:00:00Z&until=2026-05-01T00:00:00Z",
        400,
        /until: expected a time after since/,
      ],
      ["/api/v1/reports/uptime?since=2020-01-01T00:00:00Z", 400, /at most 400 days/],
      ["/api/v1/reports/uptime?format=pdf", 400, /format: expected one of/],
    ];
    for (const [path, status, message] of cases) {
      const response = await api(path);
      assert.equal(response.status, status, path);
      assert.match((await response.json()).error, message, path);
    }
  });
});

Deno.test("GET /api/v1/scripts shows each script's uptime over the last 24 hours", async () => {
  await withApp(async (api) => {
    const { scripts } = await (await api("/api/v1/scripts")).json();
    assert.equal(scripts.length, 1);
    assert.equal(scripts[0].uptimeRatio24h, 0.75);
  });
});

Deno.test("GET /api/v1/scripts?limit=N pages the fleet in site, host, script order by cursor", async () => {
  await withApp(async (api, store) => {
    for (const [site, host] of [["BFI4", "ws-03"], ["SEA8", "ws-01"], ["BFI4", "ws-02"]]) {
      await store.ingest(
        ingestRequest({ site, host, scripts: [script("zeta"), script("alpha"), script("mid")] }),
        { now: T0, tokenName: "t" },
      );
    }
    const everything = (await (await api("/api/v1/scripts")).json()).scripts;
    const keys = (rows: { site: string; host: string; script: string }[]) =>
      rows.map((r) => `${r.site}/${r.host}/${r.script}`);
    const pages: string[][] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const response: Response = await api(
        `/api/v1/scripts?limit=4${cursor === null ? "" : `&cursor=${cursor}`}`,
      );
      const body = await response.json();
      pages.push(keys(body.scripts));
      assert.equal(response.headers.get("X-Next-Cursor"), body.cursor);
      cursor = body.cursor;
      if (cursor === null) break;
    }
    assert.deepEqual(pages.map((p) => p.length), [4, 4, 2]);
    assert.deepEqual(pages.flat(), keys(everything).sort());
    assert.equal(new Set(pages.flat()).size, 10);
    const filtered = (await (await api("/api/v1/scripts?limit=2&q=alpha")).json()).scripts;
    assert.deepEqual(keys(filtered), ["BFI4/ws-02/alpha", "BFI4/ws-03/alpha"]);
    const bad = await api("/api/v1/scripts?limit=2&cursor=nonsense");
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /^cursor: expected the cursor of a previous page/);
  });
});

Deno.test("GET /api/v1/tokens lists each agent's tokens with the seconds left now", async () => {
  await withApp(async (api, store) => {
    const expiresAt = new Date(T0 + 5 * HOUR).toISOString();
    await store.ingest(
      {
        ...ingestRequest({ host: "ws-02" }),
        tokens: [{
          name: "sso",
          state: "expiring",
          expiresAt,
          secondsLeft: 99_999,
          predicted: true,
          confidence: 0.8,
          usedBy: ["rates"],
        }],
      },
      { now: T0 + 10_000, tokenName: "ws-02" },
    );
    const { tokens } = await (await api("/api/v1/tokens")).json();
    assert.equal(tokens.length, 1);
    assert.deepEqual(
      { ...tokens[0] },
      {
        site: "BFI4",
        host: "ws-02",
        name: "sso",
        state: "expiring",
        expiresAt,
        secondsLeft: 3600,
        predicted: true,
        confidence: 0.8,
        usedBy: ["rates"],
      },
    );
    assert.deepEqual((await (await api("/api/v1/tokens?site=DEN2")).json()).tokens, []);
  });
});

Deno.test("a window that reaches into the future ends now", async () => {
  await withApp(async (api) => {
    const history = await (await api(
      `/api/v1/agents/BFI4/ws-01/scripts/rates/history?until=2099-01-01T00:00:00Z`,
    )).json();
    assert.equal(history.until, new Date(T0 + 4 * HOUR).toISOString());
  });
});

Deno.test("an agent whose tokens were all taken out of its config has none listed any more", async () => {
  await withApp(async (api, store) => {
    const sso = {
      name: "sso",
      state: "expired",
      expiresAt: new Date(T0).toISOString(),
      secondsLeft: 0,
      predicted: false,
      confidence: 1,
      usedBy: [],
    };
    const report = async (tokens: (typeof sso)[] | undefined) =>
      await store.ingest(
        { ...ingestRequest({ host: "ws-02" }), ...(tokens === undefined ? {} : { tokens }) },
        { now: T0 + 10_000, tokenName: "ws-02" },
      );
    await report([sso]);
    await report(undefined); // an agent without tokens support says nothing: kept
    assert.equal((await (await api("/api/v1/tokens")).json()).tokens.length, 1);
    await report([]);
    assert.deepEqual((await (await api("/api/v1/tokens")).json()).tokens, []);
  });
});
