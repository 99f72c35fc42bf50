import assert from "node:assert/strict";
import {
  openPgReplicas,
  openPgStore,
  pgDatabaseUrl,
  postgresSkipped,
  stopTestStores,
} from "../../../tests/_stores.ts";
import { dayOf, historyKind, recordDay } from "./history_tables.ts";
import { loadMigrations, migrate } from "./migrate.ts";
import { openPostgres, pool } from "./open.ts";
import { PgKv, type Sql } from "./pg_kv.ts";
import { encodeValue } from "../../../shared/kv/value_codec.ts";
import { encodeKey } from "../../../shared/kv/key_codec.ts";

const pgTest = { ignore: postgresSkipped !== null, sanitizeResources: false, sanitizeOps: false };
const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("recordDay() files a record under the UTC day of its own time", () => {
  const now = Date.parse("2026-12-05T12:00:00Z");
  const at = "2026-05-01T23:59:59.999Z";
  assert.equal(recordDay(["event", "BFI4", "ws-01", 7], { at }, now), "2026-05-01");
  assert.equal(
    recordDay(["event_time", Date.parse(at), "BFI4", "ws-01", 7], {}, now),
    "2026-05-01",
  );
  assert.equal(
    recordDay(["sample", "BFI4", "ws-01", Date.parse("2026-05-02T00:00:00Z")], [], now),
    "2026-05-02",
  );
  // No time of its own: today. An agent's clock years ahead: no further than tomorrow.
  assert.equal(recordDay(["event", "BFI4", "ws-01", 8], { at: "garbage" }, now), "2026-12-05");
  assert.equal(
    recordDay(["event", "BFI4", "ws-01", 9], { at: "2031-01-01T00:00:00Z" }, now),
    "2026-12-06",
  );
  assert.equal(dayOf(-1), "1969-12-31");
});

Deno.test("the database files every key in the table the store reads it from", pgTest, async () => {
  const kv = await openPgStore();
  const keys: Deno.KvKey[] = [
    ["event", "BFI4", "ws-01", 1],
    ["event"],
    ["event_time", 5, "BFI4", "ws-01", 1],
    ["events"],
    ["eventz", 1],
    ["transition", "BFI4", "ws-01", "rates", 5, 1],
    ["presence", "BFI4", "ws-01", 5],
    ["sample", "BFI4", "ws-01", 5],
    ["samples"],
    ["agent", "BFI4", "ws-01"],
    ["rollup", "BFI4", "ws-01", "rates", 0],
    [1, "event"],
    [new Uint8Array([2, 101])],
  ];
  const rows = await kv.sql<{ kind: string | null }[]>`
    SELECT kv_history_kind(decode(k, 'hex')) AS kind
    FROM unnest(${keys.map((key) => hex(encodeKey(key)))}::text[]) WITH ORDINALITY AS t(k, i)
    ORDER BY i`;
  assert.deepEqual(rows.map((row) => row.kind), keys.map(historyKind));
  assert.equal(keys.map(historyKind).filter((kind) => kind !== null).length, 6);
});

Deno.test(
  "a write to a day another replica dropped makes the day again and lands",
  pgTest,
  async () => {
    const [a, b] = await openPgReplicas();
    const at = Date.parse("2026-05-01T10:00:00Z");
    await a.set(["event_time", at, "BFI4", "ws-01", 1], { seq: 1 });
    const dropped = await b.dayTables.dropBefore("events", Date.parse("2026-05-02T00:00:00Z"));
    assert.deepEqual([dropped.days, dropped.records], [["2026-05-01"], 1]);
    // `a` still believes May 1st has a table.
    await a.set(["event_time", at + 1, "BFI4", "ws-01", 2], { seq: 2 });
    const listed = [];
    for await (const entry of b.list({ prefix: ["event_time"] })) listed.push(entry.value);
    assert.deepEqual(listed, [{ seq: 2 }]);
  },
);

Deno.test("a listing across kv and the day tables merges them in key order", pgTest, async () => {
  const kv = await openPgStore();
  const at = Date.parse("2026-05-01T10:00:00Z");
  await kv.set(["event_time", at, "x"], 1);
  await kv.set(["event_time", at + 86_400_000, "x"], 2);
  await kv.set(["agent", "x"], 0);
  await kv.set(["sample", "x", at], 3);
  await kv.set(["zeta"], 4);
  const all = [];
  for await (const entry of kv.list({ prefix: [] }, { batchSize: 2 })) all.push(entry.value);
  assert.deepEqual(all, [0, 1, 2, 3, 4]);
  const reversed = [];
  for await (const entry of kv.list({ prefix: [] }, { reverse: true, limit: 3 })) {
    reversed.push(entry.value);
  }
  assert.deepEqual(reversed, [4, 3, 2]);
});

Deno.test(
  "a store made before the day tables keeps its history through the migration",
  pgTest,
  async () => {
    const url = await pgDatabaseUrl();
    const sql = pool(url, { max: 1 });
    try {
      await migrate(sql, { migrations: (await loadMigrations()).slice(0, 1) });
      const rows: [Deno.KvKey, unknown][] = [
        [["event", "BFI4", "ws-01", 1], { seq: 1 }],
        [["event_time", 5, "BFI4", "ws-01", 1], { seq: 1 }],
        [["transition", "BFI4", "ws-01", "rates", 5, 1], { state: "running" }],
        [["agent", "BFI4", "ws-01"], { ackedSeq: 1 }],
      ];
      const ops = rows.map(([key, value]) => ({
        t: "set",
        k: hex(encodeKey(key)),
        v: encodeValue(value),
      }));
      await sql`SELECT kv_commit(${JSON.stringify({ checks: [], ops })}::text::json)`;
    } finally {
      await sql.end();
    }
    const { kv, migrated } = await openPostgres(url, { max: 2 });
    try {
      assert.equal(migrated.applied[0].name, "0002_history.sql");
      for (
        const [key, value] of [
          [["event", "BFI4", "ws-01", 1], { seq: 1 }],
          [["transition", "BFI4", "ws-01", "rates", 5, 1], { state: "running" }],
          [["agent", "BFI4", "ws-01"], { ackedSeq: 1 }],
        ] as [Deno.KvKey, unknown][]
      ) assert.deepEqual((await kv.get(key)).value, value);
      const [{ moved }] = await kv.sql`SELECT count(*)::int AS moved FROM kv_history`;
      assert.equal(moved, 3);
    } finally {
      await kv.closed();
    }
  },
);

Deno.test("a commit opens only the day tables it writes to", pgTest, async () => {
  const kv = await openPgStore();
  const day = Date.parse("2026-05-10T10:00:00Z");
  // Ten days of history kept, as a retention of ten days would.
  for (let d = 0; d < 10; d++) await kv.set(["event_time", day - d * 86_400_000, "x"], d);
  /** The day tables a transaction holding one commit of `write` locked. */
  const dayTablesLocked = (write: (kv: PgKv) => Deno.AtomicOperation) =>
    kv.sql.begin(async (tx) => {
      assert.ok((await write(new PgKv(tx as unknown as Sql)).commit()).ok);
      const rows = await tx<{ name: string }[]>`
        SELECT relation::regclass::text AS name FROM pg_locks
        WHERE pid = pg_backend_pid() AND locktype = 'relation'
          AND relation::regclass::text ~ '^kv_history_[a-z]+_[0-9]{8}'`;
      return rows.map((row) => row.name).sort();
    });
  assert.deepEqual(
    await dayTablesLocked((kv) => kv.atomic().set(["agent", "BFI4", "ws-01"], { seq: 1 })),
    [],
  );
  assert.deepEqual(
    await dayTablesLocked((kv) =>
      kv.atomic().set(["agent", "BFI4", "ws-01"], { seq: 2 }).set(["event_time", day, "y"], 1)
    ),
    ["kv_history_events_20260510"],
  );
  await kv.closed();
});

stopTestStores();
