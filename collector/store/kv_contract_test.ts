/**
 * The contract every key-value backend keeps: a Deno KV file, the collector's
 * PostgreSQL store and the agent's SQLite file answer every call the programs
 * make the same way, and PostgreSQL keeps it with several collectors (pools)
 * writing at once.
 */
import assert from "node:assert/strict";
import type { KvHandle } from "../../shared/kv/handle.ts";
import {
  openPgReplicas,
  openPgStore,
  postgresSkipped,
  SQLITE_BACKEND,
  stopTestStores,
  STORE_BACKENDS,
  testOnStores,
} from "../../tests/_stores.ts";

const ALL_BACKENDS = [...STORE_BACKENDS, SQLITE_BACKEND];

async function keys(kv: KvHandle, selector: Deno.KvListSelector, options?: Deno.KvListOptions) {
  const out: Deno.KvKey[] = [];
  for await (const entry of kv.list(selector, options)) out.push(entry.key);
  return out;
}

testOnStores("get, set and delete keep values as they were written", async (kv) => {
  assert.deepEqual(await kv.get(["agent", "BFI4", "ws-01"]), {
    key: ["agent", "BFI4", "ws-01"],
    value: null,
    versionstamp: null,
  });
  const value = {
    site: "BFI4",
    n: 1.5,
    nested: { list: [1, "two", null, true], at: new Date(1_700_000_000_000) },
    bytes: new Uint8Array([0, 1, 255]),
    missing: undefined,
    big: 12n,
  };
  const first = await kv.set(["agent", "BFI4", "ws-01"], value);
  assert.equal(first.ok, true);
  const read = await kv.get(["agent", "BFI4", "ws-01"]);
  assert.deepEqual(read.value, value);
  assert.equal(read.versionstamp, first.versionstamp);
  const second = await kv.set(["agent", "BFI4", "ws-01"], "again");
  assert.ok(second.versionstamp > first.versionstamp, "versionstamps grow");
  const many = await kv.getMany([["agent", "BFI4", "ws-01"], ["nothing"]]);
  assert.deepEqual(many.map((e) => e.value), ["again", null]);
  await kv.delete(["agent", "BFI4", "ws-01"]);
  assert.equal((await kv.get(["agent", "BFI4", "ws-01"])).value, null);
}, ALL_BACKENDS);

testOnStores(
  "list by prefix, start and end, reversed, limited, and resumed from a cursor",
  async (kv) => {
    await kv.set(["event"], "the prefix itself");
    for (let seq = 1; seq <= 12; seq++) await kv.set(["event", "BFI4", seq], seq);
    await kv.set(["event", "BFI5", 1], 1);
    await kv.set(["eventz"], "beside the prefix");
    assert.equal((await keys(kv, { prefix: ["event"] })).length, 13);
    assert.deepEqual(
      (await keys(kv, { prefix: ["event", "BFI4"], start: ["event", "BFI4", 10] })).map((k) =>
        k[2]
      ),
      [10, 11, 12],
    );
    assert.deepEqual(
      (await keys(kv, { prefix: ["event", "BFI4"], end: ["event", "BFI4", 3] })).map((k) => k[2]),
      [1, 2],
    );
    assert.deepEqual(
      (await keys(kv, { start: ["event", "BFI4", 4], end: ["event", "BFI4", 6] })).map((k) => k[2]),
      [4, 5],
    );
    assert.deepEqual(
      (await keys(kv, { prefix: ["event", "BFI4"] }, { reverse: true, limit: 3 })).map((k) => k[2]),
      [12, 11, 10],
    );
    // Pages of 5 with small batches, resumed from each page's cursor.
    const pages: unknown[][] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 5; page++) {
      const iterator = kv.list<number>({ prefix: ["event", "BFI4"] }, {
        limit: 5,
        cursor,
        batchSize: 2,
      });
      const values: number[] = [];
      for await (const entry of iterator) values.push(entry.value);
      pages.push(values);
      if (values.length < 5) break;
      cursor = iterator.cursor;
    }
    assert.deepEqual(pages, [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12]]);
  },
  ALL_BACKENDS,
);

testOnStores("a range whose start is past its end is refused as KV refuses it", async (kv) => {
  await assert.rejects(
    () => keys(kv, { start: ["event_time", 5], end: ["event_time", 1] }),
    /Start key is greater than end key/,
  );
}, ALL_BACKENDS);

testOnStores("an atomic commit with a failed check writes nothing", async (kv) => {
  const { versionstamp } = await kv.set(["lease", "BFI4", "rates"], { holder: "ws-01" });
  const stale = await kv.atomic()
    .check({ key: ["lease", "BFI4", "rates"], versionstamp: null })
    .set(["lease", "BFI4", "rates"], { holder: "ws-02" })
    .set(["other"], 1)
    .commit();
  assert.equal(stale.ok, false);
  assert.equal((await kv.get(["other"])).value, null);
  const fresh = await kv.atomic()
    .check({ key: ["lease", "BFI4", "rates"], versionstamp })
    .check({ key: ["absent"], versionstamp: null })
    .set(["lease", "BFI4", "rates"], { holder: "ws-02" })
    .delete(["other"])
    .commit();
  assert.equal(fresh.ok, true);
  assert.deepEqual((await kv.get(["lease", "BFI4", "rates"])).value, { holder: "ws-02" });
}, ALL_BACKENDS);

testOnStores("u64 sums wrap as in KV (adding 2^64-1 subtracts one), min and max", async (kv) => {
  await kv.atomic().sum(["count", "queued"], 5n).commit();
  await kv.atomic().sum(["count", "queued"], 0xffff_ffff_ffff_ffffn).commit();
  assert.deepEqual((await kv.get(["count", "queued"])).value, new Deno.KvU64(4n));
  await kv.atomic().min(["count", "queued"], 2n).max(["count", "most"], 9n).commit();
  assert.deepEqual((await kv.get(["count", "queued"])).value, new Deno.KvU64(2n));
  assert.deepEqual((await kv.get(["count", "most"])).value, new Deno.KvU64(9n));
}, ALL_BACKENDS);

testOnStores("one atomic touching a key twice applies its mutations in order", async (kv) => {
  await kv.atomic().set(["a"], 1).delete(["a"]).set(["b"], 1).set(["b"], 2).commit();
  await kv.atomic().set(["event", "x", 1], { at: "2026-05-01T00:00:00Z" }).delete(["event", "x", 1])
    .commit();
  await kv.atomic().sum(["n"], 1n).sum(["n"], 2n).commit();
  const values = await kv.getMany([["a"], ["b"], ["event", "x", 1], ["n"]]);
  assert.deepEqual(values.map((e) => e.value), [null, 2, null, new Deno.KvU64(3n)]);
}, ALL_BACKENDS);

const pgTest = { ignore: postgresSkipped !== null, sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name: "PostgreSQL: an expired record is gone by the database's clock",
  ...pgTest,
  fn: async () => {
    const kv = await openPgStore();
    await kv.set(["session", "a"], 1, { expireIn: 1 });
    await kv.set(["session", "b"], 2, { expireIn: 3_600_000 });
    // The database's clock moves on between statements; bounded wait for 1 ms to pass there.
    let value: unknown = 1;
    for (let i = 0; i < 100 && value !== null; i++) value = (await kv.get(["session", "a"])).value;
    assert.equal(value, null);
    assert.deepEqual(await keys(kv, { prefix: ["session"] }), [["session", "b"]]);
    const rows = async () => (await kv.sql`SELECT count(*)::int AS n FROM kv`)[0].n;
    assert.equal(await rows(), 2, "hidden, not yet deleted");
    assert.equal(await kv.tidyAll(1), 1);
    assert.equal(await rows(), 1, "the expired row is deleted");
  },
});

Deno.test({
  name: "PostgreSQL: lastOfRanges reads many ranges' last entries as a reversed list reads each",
  ...pgTest,
  fn: async () => {
    const kv = await openPgStore();
    const hour = 3_600_000;
    const t0 = Date.parse("2026-05-01T00:00:00Z");
    // State changes (a history kind, in day tables over three days) and records in `kv`; one
    // transition written twice, under two days: its newest value wins, as in `list`.
    for (let script = 0; script < 600; script++) {
      const changes = script === 7 ? 30 : script % 3; // none, one, two; script 7 thirty
      for (let i = 0; i < changes; i++) {
        await kv.set(["transition", "BFI4", "ws-01", `s${script}`, t0 + i * 3 * hour, i], i);
      }
    }
    await kv.set(["transition", "BFI4", "ws-01", "s1", t0, 0], "again");
    for (let seq = 1; seq <= 12; seq++) await kv.set(["event_seq", "BFI4", seq], seq);
    const ranges = Array.from({ length: 600 }, (_, script) => {
      const prefix = ["transition", "BFI4", "ws-01", `s${script}`];
      return { start: prefix, end: [...prefix, script === 7 ? t0 + 40 * hour : t0 + 99 * hour] };
    });
    const read = await kv.lastOfRanges<number>(ranges, 8);
    assert.equal(read.length, 600, "600 ranges: more than one statement reads");
    for (const [i, range] of ranges.entries()) {
      const listed = await Array.fromAsync(kv.list(range, { reverse: true, limit: 8 }));
      assert.deepEqual(read[i], listed, `range ${i}`);
    }
    assert.deepEqual(
      read[7].map((e) => e.key[4]),
      [13, 12, 11, 10, 9, 8, 7, 6].map((i) => t0 + i * 3 * hour),
    );
    assert.equal(read[1][0].value, "again");
    assert.deepEqual(read[0], []);
    const plain = { start: ["event_seq", "BFI4", 3], end: ["event_seq", "BFI4", 10] };
    const [fromKv] = await kv.lastOfRanges<number>([plain], 3);
    assert.deepEqual(fromKv.map((e) => e.value), [9, 8, 7]);
    assert.deepEqual(await kv.lastOfRanges([], 8), []);
    await assert.rejects(
      () => kv.lastOfRanges([ranges[0], plain], 8),
      /ranges of one table at a time, got transitions, kv/,
    );
  },
});

Deno.test({
  name: "PostgreSQL: two collectors updating one record lose no update, create-if-absent wins once",
  ...pgTest,
  fn: async () => {
    const [a, b] = await openPgReplicas();
    const bump = async (kv: KvHandle) => {
      for (let attempt = 0; attempt < 200; attempt++) {
        const entry = await kv.get<number>(["counter"]);
        const done = await kv.atomic().check(entry).set(["counter"], (entry.value ?? 0) + 1)
          .commit();
        if (done.ok) return;
      }
      throw new Error("no commit in 200 attempts");
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => bump(i % 2 === 0 ? a : b)));
    assert.equal((await b.get(["counter"])).value, 20);
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? a : b).atomic()
          .check({ key: ["dedupe", "post-1"], versionstamp: null })
          .set(["dedupe", "post-1"], i)
          .commit()),
    );
    assert.equal(claims.filter((claim) => claim.ok).length, 1);
  },
});

stopTestStores();
