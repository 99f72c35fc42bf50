import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { CentralStore } from "../central/mod.ts";
import { parseConfig } from "../config/load.ts";
import { DATASETS } from "../export/mod.ts";
import { Store } from "../store/store.ts";
import { Outbox } from "../../shared/notify/outbox.ts";
import type { Alert, Channel } from "../../shared/notify/types.ts";

const DAY = 86_400_000;
const NOW = Date.parse("2026-05-31T12:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();
const columns = (name: string) => DATASETS.find((d) => d.name === name)!.columns.map((c) => c.name);

type Api = (who: "admin" | "viewer" | "bfi4", path: string) => Promise<Response>;

function alert(site: string, host: string): Alert {
  return {
    rule: "script-down",
    severity: "critical",
    status: "firing",
    title: `rates is down on ${host} (${site})`,
    text: "It exited with 1.",
    site,
    host,
    script: "rates",
    at: iso(NOW),
    episode: "1",
  };
}

/** A collector whose store has two sites' rollups, incidents, messages and a config change. */
async function withApp(fn: (api: Api) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new Store(kv);
    const config = parseConfig("", { path: "/tmp/collector.toml", vars: {} });
    const app = createApp({ store, config, clock: { now: () => NOW } });
    const tokens = {
      admin: (await store.createToken({ kind: "api", name: "a", role: "admin", now: NOW })).token,
      viewer: (await store.createToken({ kind: "api", name: "v", role: "viewer", now: NOW })).token,
      bfi4: (await store.createToken({ kind: "api", name: "b", sites: ["BFI4"], now: NOW })).token,
    };
    const day = Math.floor(NOW / DAY) * DAY - 2 * DAY;
    const rollup = { day, upMs: 20 * 3_600_000, downMs: 4 * 3_600_000, idleMs: 0, unknownMs: 0 };
    await store.history.saveRollup("BFI4", "ws-01", "rates", { ...rollup, restarts: 1 });
    await store.history.saveRollup("SEA8", "ws-02", "sync", { ...rollup, restarts: 0 });
    for (
      const [site, host, firedAt] of [
        ["BFI4", "ws-old", NOW - 31 * DAY],
        ["SEA8", "ws-02", NOW - 2 * 3_600_000],
        ["BFI4", "ws-01", NOW - 3_600_000],
      ] as const
    ) {
      await store.alerts.open({
        rule: "script-down",
        key: `script-down|${site}|${host}|rates|`,
        severity: "critical",
        site,
        host,
        script: "rates",
        check: null,
        title: `rates is down on ${host}, "again"`,
        firedAt: iso(firedAt),
      });
    }
    const ops: Channel = { name: "ops", kind: "json", send: () => Promise.resolve({ ok: true }) };
    const outbox = new Outbox(kv, {
      channels: new Map([["ops", ops]]),
      clock: { now: () => NOW - 60_000, sleep: () => Promise.resolve() },
    });
    for (const [site, host] of [["BFI4", "ws-01"], ["SEA8", "ws-02"]]) {
      await outbox.enqueue({
        channel: "ops",
        dedupeKey: host,
        payload: { type: "alert", alert: alert(site, host) },
      });
    }
    await new CentralStore(kv).append(
      {
        at: iso(NOW - DAY),
        by: "user:ann",
        why: "fewer restarts",
        action: "edit",
        rollout: "fleet",
      },
      new Map([["fleet", "[agent]\n"]]),
      0,
    );
    await fn(async (who, path) =>
      await app.request(path, { headers: { authorization: `Bearer ${tokens[who]}` } })
    );
  } finally {
    kv.close();
  }
}

Deno.test("GET /api/v1/export/incidents?format=csv has the header row and a row per incident of the last 30 days", async () => {
  await withApp(async (api) => {
    const res = await api("admin", "/api/v1/export/incidents?format=csv");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/csv; charset=utf-8");
    assert.equal(
      res.headers.get("content-disposition"),
      'attachment; filename="incidents.csv"',
    );
    const lines = (await res.text()).trimEnd().split("\r\n");
    assert.equal(lines[0], columns("incidents").join(","));
    assert.equal(
      lines[0],
      "id,site,host,script,check_name,rule,severity,title,started_at,resolved_at," +
        "duration_seconds,acknowledged_by,acknowledged_at",
    );
    assert.deepEqual(lines.slice(1).map((line) => line.replace(/^alert-[^,]+,/, "")), [
      'SEA8,ws-02,rates,,script-down,critical,"rates is down on ws-02, ""again""",2026-05-31T10:00:00.000Z,,,,',
      'BFI4,ws-01,rates,,script-down,critical,"rates is down on ws-01, ""again""",2026-05-31T11:00:00.000Z,,,,',
    ]);
  });
});

Deno.test("JSON lines are the default: one object per line with the dataset's columns", async () => {
  await withApp(async (api) => {
    const res = await api("viewer", "/api/v1/export/uptime_days");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/x-ndjson");
    const lines = (await res.text()).trimEnd().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(lines.map((row) => Object.keys(row)), [
      columns("uptime_days"),
      columns("uptime_days"),
    ]);
    assert.deepEqual(lines[0], {
      site: "BFI4",
      host: "ws-01",
      script: "rates",
      day: "2026-05-29",
      up_seconds: 72_000,
      down_seconds: 14_400,
      idle_seconds: 0,
      unknown_seconds: 0,
      uptime_ratio: 20 / 24,
      restarts: 1,
    });
  });
});

Deno.test("since and until choose the window", async () => {
  await withApp(async (api) => {
    const rows = async (path: string) =>
      (await (await api("admin", path)).text()).trim().split("\n");
    assert.equal((await rows(`/api/v1/export/incidents?since=${iso(NOW - 40 * DAY)}`)).length, 3);
    const older = await rows(`/api/v1/export/incidents?since=2026-04-01&until=2026-05-01`);
    assert.deepEqual(older.map((line) => JSON.parse(line).host), ["ws-old"]);
  });
});

Deno.test("a viewer of one site gets that site's rows only, and 403 for another site", async () => {
  await withApp(async (api) => {
    for (const dataset of ["uptime_days", "incidents", "notifications"]) {
      const res = await api("bfi4", `/api/v1/export/${dataset}`);
      assert.equal(res.status, 200, dataset);
      const sites = (await res.text()).trim().split("\n").map((line) => JSON.parse(line).site);
      assert.deepEqual(sites, ["BFI4"], dataset);
      const all = (await (await api("admin", `/api/v1/export/${dataset}`)).text()).trim();
      assert.equal(all.split("\n").length, 2, `${dataset}: both sites for an admin`);
    }
    const other = await api("bfi4", "/api/v1/export/incidents?site=SEA8");
    assert.equal(other.status, 403);
    assert.equal((await other.json()).error, 'API token "b" may not see site "SEA8"');
  });
});

Deno.test("config_changes is for admins of every site", async () => {
  await withApp(async (api) => {
    const res = await api("admin", "/api/v1/export/config_changes?format=csv");
    assert.equal(res.status, 200);
    assert.deepEqual((await res.text()).trimEnd().split("\r\n"), [
      "version,changed_at,changed_by,why,action,documents,rollback_to,rollout",
      "1,2026-05-30T12:00:00.000Z,user:ann,fewer restarts,edit,fleet,,fleet",
    ]);
    const viewer = await api("viewer", "/api/v1/export/config_changes");
    assert.equal(viewer.status, 403);
    assert.match((await viewer.json()).error, /needs the admin role/);
    const scoped = await api("bfi4", "/api/v1/export/config_changes");
    assert.equal(scoped.status, 403);
    const site = await api("admin", "/api/v1/export/config_changes?site=BFI4");
    assert.equal(site.status, 400);
    assert.equal(
      (await site.json()).error,
      "site: config_changes covers every site; leave site out",
    );
  });
});

Deno.test("an unknown dataset is 404 naming the known ones; a bad format or time is 400 naming it", async () => {
  await withApp(async (api) => {
    const cases: [string, number, string][] = [
      [
        "/api/v1/export/kv",
        404,
        'No dataset "kv": expected one of uptime_days, incidents, notifications, config_changes',
      ],
      [
        "/api/v1/export/incidents?format=xml",
        400,
        'format: expected one of "jsonl", "csv", got "xml"',
      ],
      [
        "/api/v1/export/incidents?since=yesterday",
        400,
        'since: expected an ISO time like "2026-05-01T12:00:00Z", got "yesterday"',
      ],
      [
        "/api/v1/export/incidents?since=2026-05-02&until=2026-05-01",
        400,
        "until: expected a time after since (2026-05-02T00:00:00.000Z), got 2026-05-01T00:00:00.000Z",
      ],
    ];
    for (const [path, status, message] of cases) {
      const res = await api("viewer", path);
      assert.equal(res.status, status, path);
      assert.equal((await res.json()).error, message, path);
    }
  });
});
