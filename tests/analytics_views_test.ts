/**
 * The PostgreSQL views `analytics.*` against the API: data written through the collector's own
 * classes (Store, the outbox, CentralStore) on a real database reads the same, row for row,
 * from each view (as a login in the role `scriptmon_analyst`) as from
 * `GET /api/v1/export/<dataset>` as JSON lines; and that login cannot read `kv`.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { createApp } from "../collector/mod.ts";
import { CentralStore } from "../collector/central/mod.ts";
import { parseConfig } from "../collector/config/mod.ts";
import { type Dataset, DATASETS, type Row, SQL_TYPES } from "../collector/export/mod.ts";
import { openPostgres, type PgKv } from "../collector/store/postgres/mod.ts";
import { Store } from "../collector/store/mod.ts";
import { type Alert, type Channel, Outbox } from "../shared/notify/mod.ts";
import { pgDatabaseUrl, postgresSkipped, stopTestStores } from "./_stores.ts";

const pgTest = { ignore: postgresSkipped !== null, sanitizeResources: false, sanitizeOps: false };
const DAY = 86_400_000;
const MAY1 = Date.parse("2026-05-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

function alert(site: string, host: string, group?: Alert[]): Alert {
  return {
    rule: "script-down",
    severity: "critical",
    status: "firing",
    title: `rates is down on ${host} (${site})`,
    text: "It exited with 1.",
    site,
    host,
    script: "rates",
    at: iso(MAY1),
    episode: "1",
    ...(group === undefined ? {} : { group }),
  };
}

/** A bit of everything each dataset shows, written as the collector writes it. */
async function writeFleet(kv: PgKv): Promise<void> {
  const store = new Store(kv);
  const rollup = { day: MAY1, upMs: 12_345_678, downMs: 7, idleMs: 1, unknownMs: 0, restarts: 3 };
  await store.history.saveRollup("BFI4", "ws-01", "rates", rollup);
  await store.history.saveRollup("Zürich", "ws 2", 'sync, "nightly"', {
    ...rollup,
    day: MAY1 + DAY,
  });
  await store.history.saveRollup("BFI4", "ws-01", "rates", {
    ...rollup,
    day: MAY1 + DAY,
    upMs: 0,
    downMs: 0,
    idleMs: DAY,
  });

  const down = await store.alerts.open({
    rule: "unhealthy",
    key: "unhealthy|BFI4|ws-01|rates|heartbeat",
    severity: "warning",
    site: "BFI4",
    host: "ws-01",
    script: "rates",
    check: "heartbeat",
    title: "rates missed its heartbeat",
    firedAt: iso(MAY1 + 1000),
  });
  await store.alerts.ack(down.id, { by: "user:ann", now: MAY1 + 5000 });
  await store.alerts.resolve(down.key, iso(MAY1 + 91_234));
  await store.alerts.open({
    rule: "agent-offline",
    key: "agent-offline|SEA8|ws-09||",
    severity: "critical",
    site: "SEA8",
    host: "ws-09",
    script: null,
    check: null,
    title: "ws-09 (SEA8) is offline",
    firedAt: iso(MAY1 + 2 * DAY),
  });

  const ok: Channel = {
    name: "ops",
    kind: "json",
    send: () => Promise.resolve({ ok: true, status: 200, answer: "ok" }),
  };
  const sender = new Outbox(kv, { channels: new Map([["ops", ok]]) });
  sender.start();
  const grouped = alert("BFI4", "ws-01", [alert("SEA8", "ws-09"), alert("BFI4", "ws-02")]);
  await sender.enqueue({
    channel: "ops",
    dedupeKey: "g",
    payload: { type: "alert", alert: grouped },
  });
  await sender.enqueue({
    channel: "ops",
    dedupeKey: "t",
    payload: { type: "test", text: "hello" },
  });
  await sender.idle();
  await sender.close();
  // Queued for a webhook this collector no longer has: never attempted.
  const idle = new Outbox(kv, { channels: new Map([["gone", ok]]) });
  await idle.enqueue({
    channel: "gone",
    dedupeKey: "q",
    payload: { type: "alert", alert: alert("SEA8", "ws-09") },
  });

  const central = new CentralStore(kv);
  const edit = { by: "user:ann", why: "fewer restarts", action: "edit" as const };
  await central.append(
    { ...edit, at: iso(MAY1 + 3000), rollout: "agent:BFI4/ws-01" },
    new Map([["fleet", "[agent]\n"], ["site:BFI4", null]]),
    0,
  );
  await central.setRollout(1, "site:BFI4");
  await central.append(
    { ...edit, at: iso(MAY1 + 4000), action: "rollback", rollbackTo: 1, rollout: "fleet" },
    new Map([["fleet", "[agent]\n"]]),
    1,
  );
}

/** A view's row with times and days as the JSON lines write them. */
function asLine(dataset: Dataset, row: Record<string, unknown>): Row {
  const out: Row = {};
  for (const column of dataset.columns) {
    const value = row[column.name];
    out[column.name] = value instanceof Date
      ? (column.type === "date" ? iso(value.getTime()).slice(0, 10) : iso(value.getTime()))
      : value as Row[string];
  }
  return out;
}

const sorted = (rows: Row[]) => rows.map((row) => JSON.stringify(row)).sort();

Deno.test(
  "a login in scriptmon_analyst reads from each view the rows the API exports",
  pgTest,
  async () => {
    const url = await pgDatabaseUrl();
    const { kv } = await openPostgres(url, { max: 4 });
    const login = `bi_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    let analyst: postgres.Sql | null = null;
    try {
      await writeFleet(kv);
      const store = new Store(kv);
      const app = createApp({
        store,
        config: parseConfig("", { path: "/tmp/collector.toml", vars: {} }),
        clock: { now: () => MAY1 + 10 * DAY },
      });
      const token = (await store.createToken({ kind: "api", name: "a", role: "admin", now: MAY1 }))
        .token;
      // An admin makes the login as the README says.
      await kv.sql.unsafe(
        `CREATE ROLE ${login} LOGIN PASSWORD 'a-secret' IN ROLE scriptmon_analyst`,
      );
      const asAnalyst = new URL(url);
      asAnalyst.username = login;
      asAnalyst.password = "a-secret";
      const sql = analyst = postgres(asAnalyst.toString(), { max: 1, onnotice: () => {} });

      for (const dataset of DATASETS) {
        const res = await app.request(
          `/api/v1/export/${dataset.name}?since=2000-01-01&until=2100-01-01`,
          { headers: { authorization: `Bearer ${token}` } },
        );
        assert.equal(res.status, 200, dataset.name);
        const lines: Row[] = (await res.text()).trimEnd().split("\n").map((l) => JSON.parse(l));
        const viewed = await sql.unsafe<Record<string, unknown>[]>(
          `SELECT * FROM analytics.${dataset.name}`,
        );
        const names = dataset.columns.map((c) => c.name);
        assert.deepEqual(viewed.columns.map((c) => c.name), names, `${dataset.name}: columns`);
        assert.ok(lines.length >= 2, `${dataset.name}: ${lines.length} rows`);
        assert.deepEqual(
          sorted(viewed.map((row) => asLine(dataset, row))),
          sorted(lines),
          `${dataset.name}: rows`,
        );
      }
    } finally {
      await analyst?.end({ timeout: 5 });
      await kv.sql.unsafe(`DROP ROLE IF EXISTS ${login}`);
      await kv.closed();
    }
  },
);

Deno.test(
  "the views have the datasets' columns and types, in order; analysts cannot read kv or write",
  pgTest,
  async () => {
    const url = await pgDatabaseUrl();
    const { kv } = await openPostgres(url, { max: 2 });
    const login = `bi_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    let analyst: postgres.Sql | null = null;
    try {
      const columns = await kv.sql<{ view: string; name: string; type: string }[]>`
      SELECT table_name AS view, column_name AS name, data_type AS type
      FROM information_schema.columns WHERE table_schema = 'analytics'
      ORDER BY table_name, ordinal_position`;
      for (const dataset of DATASETS) {
        assert.deepEqual(
          columns.filter((c) => c.view === dataset.name).map((c) => `${c.name} ${c.type}`),
          dataset.columns.map((c) => `${c.name} ${SQL_TYPES[c.type]}`),
          dataset.name,
        );
      }
      await kv.sql.unsafe(
        `CREATE ROLE ${login} LOGIN PASSWORD 'a-secret' IN ROLE scriptmon_analyst`,
      );
      const asAnalyst = new URL(url);
      asAnalyst.username = login;
      asAnalyst.password = "a-secret";
      analyst = postgres(asAnalyst.toString(), { max: 1, onnotice: () => {} });
      await assert.rejects(analyst`SELECT key FROM kv LIMIT 1`, /permission denied for table kv/);
      await assert.rejects(analyst`SELECT key FROM kv_history LIMIT 1`, /permission denied/);
      await assert.rejects(
        analyst`DELETE FROM analytics.incidents`,
        /permission denied for view incidents/,
      );
      await assert.rejects(
        analyst`CREATE VIEW analytics.mine AS SELECT 1 AS one`,
        /permission denied for schema analytics/,
      );
    } finally {
      await analyst?.end({ timeout: 5 });
      await kv.sql.unsafe(`DROP ROLE IF EXISTS ${login}`);
      await kv.closed();
    }
  },
);

stopTestStores();
