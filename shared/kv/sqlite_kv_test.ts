/**
 * The agent's SQLite store beyond the contract every store keeps
 * (collector/store/kv_contract_test.ts): expiry, a file reopened, two
 * connections to one file, and u64 mutations on a value that is not one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../../tests/_helpers.ts";
import { DatabaseSync } from "node:sqlite";
import { SqliteKv } from "./sqlite_kv.ts";

Deno.test("a record is gone as soon as its expireIn has passed, and a later commit deletes it", async () => {
  const kv = new SqliteKv(":memory:");
  try {
    await kv.set(["silence", "a"], { until: "soon" }, { expireIn: 30 });
    await kv.set(["silence", "b"], { until: "later" }, { expireIn: 60_000 });
    assert.equal((await kv.get(["silence", "a"])).value !== null, true);
    const deadline = Date.now() + 40;
    while (Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(await kv.get(["silence", "a"]), {
      key: ["silence", "a"],
      value: null,
      versionstamp: null,
    });
    const listed = [];
    for await (const entry of kv.list({ prefix: ["silence"] })) listed.push(entry.key[1]);
    assert.deepEqual(listed, ["b"]);
    // An expired record counts as absent for a check.
    const claimed = await kv.atomic().check({ key: ["silence", "a"], versionstamp: null })
      .set(["silence", "a"], { until: "again" }).commit();
    assert.equal(claimed.ok, true);
  } finally {
    kv.close();
  }
});

Deno.test("what was committed is there after the file is closed and opened again", async () => {
  await using dir = await tempDir("scriptmon-sqlite-kv-");
  const path = join(dir.path, "agent.sqlite");
  const first = new SqliteKv(path);
  const { versionstamp } = await first.set(["outbox", "msg", "1"], { state: "queued" });
  await first.atomic().sum(["outbox", "count", "queued"], 3n).commit();
  first.close();
  first.close(); // closing twice is harmless
  const again = new SqliteKv(path);
  try {
    const read = await again.get(["outbox", "msg", "1"]);
    assert.deepEqual(read.value, { state: "queued" });
    assert.equal(read.versionstamp, versionstamp);
    assert.deepEqual((await again.get(["outbox", "count", "queued"])).value, new Deno.KvU64(3n));
    const next = await again.set(["outbox", "msg", "2"], { state: "queued" });
    assert.ok(next.versionstamp > versionstamp, "versionstamps keep growing after a reopen");
  } finally {
    again.close();
  }
});

Deno.test("two connections to one file see each other's commits and checks", async () => {
  await using dir = await tempDir("scriptmon-sqlite-kv-");
  const path = join(dir.path, "agent.sqlite");
  const a = new SqliteKv(path);
  const b = new SqliteKv(path);
  try {
    const held = await a.set(["lease"], "a");
    assert.deepEqual((await b.get(["lease"])).value, "a");
    const fromB = await b.atomic().check({ key: ["lease"], versionstamp: held.versionstamp })
      .set(["lease"], "b").commit();
    assert.equal(fromB.ok, true);
    // a's view is stale now: its check fails and nothing is written.
    const stale = await a.atomic().check({ key: ["lease"], versionstamp: held.versionstamp })
      .set(["lease"], "a again").set(["other"], 1).commit();
    assert.equal(stale.ok, false);
    assert.deepEqual((await a.getMany([["lease"], ["other"]])).map((e) => e.value), ["b", null]);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("a u64 mutation on a value that is not a u64 is refused and writes nothing", async () => {
  const kv = new SqliteKv(":memory:");
  try {
    await kv.set(["count"], "three");
    await assert.rejects(
      () => kv.atomic().set(["other"], 1).sum(["count"], 1n).commit(),
      /Failed to perform 'sum' mutation on a non-U64 value/,
    );
    assert.equal((await kv.get(["other"])).value, null);
    // The failed commit left no transaction open.
    await kv.set(["other"], 2);
    assert.equal((await kv.get(["other"])).value, 2);
  } finally {
    kv.close();
  }
});

Deno.test("a value is stored as it was when set() was called, not when the commit ran", async () => {
  const kv = new SqliteKv(":memory:");
  try {
    const value = { n: 1 };
    const op = kv.atomic().set(["v"], value);
    value.n = 2;
    await op.commit();
    assert.deepEqual((await kv.get(["v"])).value, { n: 1 });
  } finally {
    kv.close();
  }
});

Deno.test("expired records made faster than a sweep's batch are still deleted, a batch a commit", async () => {
  await using dir = await tempDir("scriptmon-sqlite-kv-");
  const path = join(dir.path, "agent.sqlite");
  let kv = new SqliteKv(path);
  const rows = () => {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      return Number((db.prepare("SELECT count(*) AS n FROM kv").get() as { n: number }).n);
    } finally {
      db.close();
    }
  };
  try {
    for (let i = 0; i < 12; i++) {
      let op = kv.atomic();
      for (let j = 0; j < 100; j++) op = op.set(["dedupe", i * 100 + j], 1, { expireIn: 1 });
      await op.commit();
    }
    const deadline = Date.now() + 20;
    while (Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(rows(), 1200, "expired, not yet deleted");
    // Opened again, its first commit sweeps (a store that ran a minute sweeps on the next one).
    kv.close();
    kv = new SqliteKv(path);
    for (let i = 0; i < 3; i++) await kv.set(["tick"], i); // 500, 500, then the last 200
    assert.equal(rows(), 1, "only the live record is left");
  } finally {
    kv.close();
  }
});
