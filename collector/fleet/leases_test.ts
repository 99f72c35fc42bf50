import assert from "node:assert/strict";
import { leaseResponseSchema } from "../../shared/protocol.ts";
import { createApp } from "../app.ts";
import { parseConfig } from "../config/load.ts";
import { SiteLeases } from "./leases.ts";
import { Store } from "../store/store.ts";
import { SiteDedupe } from "./site_dedupe.ts";
import { closePg, openPgReplicas, postgresSkipped, stopTestStores } from "../../tests/_stores.ts";

async function withLeases(fn: (leases: SiteLeases, kv: Deno.Kv) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-leases-" });
  const kv = await Deno.openKv(`${dir}/collector.kv`);
  try {
    await fn(new SiteLeases(kv), kv);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const T0 = Date.parse("2026-05-01T12:00:00Z");
const A = { site: "BFI4", script: "rates", holder: "BFI4/ws-01", ttlMs: 15_000 };
const B = { ...A, holder: "BFI4/ws-07" };

Deno.test("acquire() takes a free lease with its expiry by the collector's clock", () =>
  withLeases(async (leases) => {
    assert.deepEqual(await leases.acquire({ ...A, now: T0 }), {
      held: true,
      holder: "BFI4/ws-01",
      expiresAt: "2026-05-01T12:00:15.000Z",
    });
    assert.equal((await leases.get("BFI4", "rates"))?.expiresAt, T0 + 15_000);
  }));

Deno.test("acquire() by another agent is refused while the lease lasts, naming the holder", () =>
  withLeases(async (leases) => {
    await leases.acquire({ ...A, now: T0 });
    assert.deepEqual(await leases.acquire({ ...B, now: T0 + 14_999 }), {
      held: false,
      holder: "BFI4/ws-01",
      expiresAt: "2026-05-01T12:00:15.000Z",
    });
  }));

Deno.test("acquire() takes over an expired lease (the value decides, not expireIn)", () =>
  withLeases(async (leases) => {
    await leases.acquire({ ...A, now: T0 });
    const answer = await leases.acquire({ ...B, now: T0 + 15_000 });
    assert.equal(answer.held, true);
    assert.equal(answer.holder, "BFI4/ws-07");
    assert.equal((await leases.renew({ ...A, now: T0 + 15_001 })).held, false);
  }));

Deno.test("renew() extends only the holder's lease", () =>
  withLeases(async (leases) => {
    await leases.acquire({ ...A, now: T0 });
    const renewed = await leases.renew({ ...A, now: T0 + 5_000 });
    assert.deepEqual(renewed, {
      held: true,
      holder: "BFI4/ws-01",
      expiresAt: "2026-05-01T12:00:20.000Z",
    });
    assert.equal((await leases.get("BFI4", "rates"))?.acquiredAt, T0);
    assert.equal((await leases.renew({ ...B, now: T0 + 5_000 })).held, false);
    assert.equal((await leases.get("BFI4", "rates"))?.holder, "BFI4/ws-01");
  }));

Deno.test("renew() of a free lease does not take it", () =>
  withLeases(async (leases) => {
    assert.deepEqual(await leases.renew({ ...A, now: T0 }), {
      held: false,
      holder: null,
      expiresAt: null,
    });
    assert.equal(await leases.get("BFI4", "rates"), null);
  }));

Deno.test("release() frees the holder's lease and ignores anyone else's", () =>
  withLeases(async (leases) => {
    await leases.acquire({ ...A, now: T0 });
    assert.equal((await leases.release({ ...B, now: T0 + 1 })).holder, "BFI4/ws-01");
    assert.deepEqual(await leases.release({ ...A, now: T0 + 1 }), {
      held: false,
      holder: null,
      expiresAt: null,
    });
    assert.equal((await leases.acquire({ ...B, now: T0 + 2 })).held, true);
  }));

Deno.test("leases of other sites and scripts are separate", () =>
  withLeases(async (leases) => {
    await leases.acquire({ ...A, now: T0 });
    assert.equal((await leases.acquire({ ...B, script: "token_monitor", now: T0 })).held, true);
    const other = { ...A, site: "SEA8", holder: "SEA8/ws-01" };
    assert.equal((await leases.acquire({ ...other, now: T0 })).held, true);
  }));

Deno.test("of many agents racing for a free lease, exactly one gets it", () =>
  withLeases(async (leases) => {
    const answers = await Promise.all(
      Array.from(
        { length: 8 },
        (_, i) => leases.acquire({ ...A, holder: `BFI4/ws-${i}`, now: T0 }),
      ),
    );
    assert.equal(answers.filter((a) => a.held).length, 1);
    const winner = answers.find((a) => a.held)!.holder;
    assert.ok(answers.every((a) => a.holder === winner));
  }));

// --- replicas: N slots, at most one per agent ---------------------------------

const R = { ...A, replicas: 3 };
const hosts = (n: number) => Array.from({ length: n }, (_, i) => `BFI4/ws-${i}`);

Deno.test("acquire() with replicas hands out the lowest free slot, one per agent, then refuses naming the holders", () =>
  withLeases(async (leases) => {
    const answers = [];
    for (const holder of hosts(4)) answers.push(await leases.acquire({ ...R, holder, now: T0 }));
    assert.deepEqual(answers.map((a) => [a.held, a.replica]), [
      [true, 0],
      [true, 1],
      [true, 2],
      [false, null],
    ]);
    assert.deepEqual(answers[3], {
      held: false,
      holder: "BFI4/ws-0",
      expiresAt: "2026-05-01T12:00:15.000Z",
      replica: null,
      replicas: 3,
      holders: ["BFI4/ws-0", "BFI4/ws-1", "BFI4/ws-2"],
    });
    // Slot 0 is the key of a script with one copy; the others have their own.
    assert.equal((await leases.get("BFI4", "rates"))?.holder, "BFI4/ws-0");
    assert.equal((await leases.get("BFI4", "rates", 2))?.holder, "BFI4/ws-2");
  }));

Deno.test("acquire() with replicas by a holder renews its slot instead of taking a second", () =>
  withLeases(async (leases) => {
    await leases.acquire({ ...R, now: T0 });
    const again = await leases.acquire({ ...R, now: T0 + 5_000 });
    assert.deepEqual([again.held, again.replica, again.holders], [true, 0, [A.holder, null, null]]);
    assert.equal(again.expiresAt, "2026-05-01T12:00:20.000Z");
    assert.equal((await leases.get("BFI4", "rates"))?.acquiredAt, T0);
  }));

Deno.test("of agents racing for the last free slot, exactly one gets it", () =>
  withLeases(async (leases) => {
    await leases.acquire({ ...R, replicas: 2, holder: "BFI4/ws-a", now: T0 });
    const answers = await Promise.all(
      hosts(8).map((holder) => leases.acquire({ ...R, replicas: 2, holder, now: T0 })),
    );
    const winners = answers.filter((a) => a.held);
    assert.equal(winners.length, 1);
    assert.equal(winners[0].replica, 1);
    assert.ok(
      answers.every((a) => a.holders?.[1] === winners[0].holder || a.holders === undefined),
    );
  }));

Deno.test("one agent's concurrent acquires with replicas take one slot, never two", () =>
  withLeases(async (leases) => {
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => leases.acquire({ ...R, now: T0 })),
    );
    assert.ok(answers.every((a) => a.held && a.replica === 0), JSON.stringify(answers));
    assert.equal(await leases.get("BFI4", "rates", 1), null);
    assert.equal(await leases.get("BFI4", "rates", 2), null);
  }));

Deno.test("many agents racing for three slots: each slot has one holder and no agent two", () =>
  withLeases(async (leases) => {
    const answers = await Promise.all(
      hosts(10).flatMap((holder) => [
        leases.acquire({ ...R, holder, now: T0 }),
        leases.acquire({ ...R, holder, now: T0 }),
      ]),
    );
    const held = answers.filter((a) => a.held);
    const slots = new Map(held.map((a) => [a.replica, a.holder]));
    assert.deepEqual([...slots.keys()].sort(), [0, 1, 2]);
    assert.equal(new Set(slots.values()).size, 3, "three different agents");
    for (const a of held) assert.equal(slots.get(a.replica), a.holder);
  }));

Deno.test("an expired slot is taken by the next agent asking; its old holder's renewal is refused", () =>
  withLeases(async (leases) => {
    for (const holder of hosts(3)) await leases.acquire({ ...R, holder, now: T0 });
    // ws-0 and ws-2 renew; ws-1 goes quiet.
    await leases.renew({ ...R, holder: "BFI4/ws-0", replica: 0, now: T0 + 10_000 });
    await leases.renew({ ...R, holder: "BFI4/ws-2", replica: 2, now: T0 + 10_000 });
    const early = await leases.acquire({ ...R, holder: "BFI4/ws-3", now: T0 + 14_999 });
    assert.equal(early.held, false);
    const taken = await leases.acquire({ ...R, holder: "BFI4/ws-3", now: T0 + 15_000 });
    assert.deepEqual([taken.held, taken.replica], [true, 1]);
    const late = await leases.renew({ ...R, holder: "BFI4/ws-1", replica: 1, now: T0 + 15_001 });
    assert.deepEqual([late.held, late.replica, late.holders], [false, null, [
      "BFI4/ws-0",
      "BFI4/ws-3",
      "BFI4/ws-2",
    ]]);
  }));

Deno.test("a holder whose slot expired unclaimed gets the same slot back, not a lower free one", () =>
  withLeases(async (leases) => {
    await leases.acquire({ ...R, holder: "BFI4/ws-0", now: T0 });
    await leases.acquire({ ...R, holder: "BFI4/ws-1", now: T0 + 1 });
    await leases.release({ ...R, holder: "BFI4/ws-0", replica: 0, now: T0 + 2 });
    const back = await leases.acquire({ ...R, holder: "BFI4/ws-1", now: T0 + 20_000 });
    assert.deepEqual([back.held, back.replica], [true, 1]);
  }));

Deno.test("when replicas shrink, slots from the new count on are neither renewed nor granted", () =>
  withLeases(async (leases) => {
    for (const holder of hosts(3)) await leases.acquire({ ...R, holder, now: T0 });
    const shrunk = { ...R, replicas: 2 };
    const refused = await leases.renew({ ...shrunk, holder: "BFI4/ws-2", replica: 2, now: T0 + 1 });
    assert.deepEqual([refused.held, refused.replica, refused.holders], [false, null, [
      "BFI4/ws-0",
      "BFI4/ws-1",
    ]]);
    // Its acquire finds both remaining slots held.
    assert.equal(
      (await leases.acquire({ ...shrunk, holder: "BFI4/ws-2", now: T0 + 2 })).held,
      false,
    );
    assert.equal(
      (await leases.renew({ ...shrunk, holder: "BFI4/ws-1", replica: 1, now: T0 + 3 })).held,
      true,
    );
  }));

Deno.test("renew() with replicas extends only the named slot of its holder and never takes one", () =>
  withLeases(async (leases) => {
    await leases.acquire({ ...R, now: T0 });
    assert.equal((await leases.renew({ ...R, replica: 1, now: T0 + 1 })).held, false);
    assert.equal((await leases.renew({ ...B, replicas: 3, replica: 0, now: T0 + 1 })).held, false);
    assert.equal((await leases.renew({ ...B, replicas: 3, now: T0 + 1 })).held, false);
    const renewed = await leases.renew({ ...R, replica: 0, now: T0 + 5_000 });
    assert.deepEqual([renewed.held, renewed.replica, renewed.expiresAt], [
      true,
      0,
      "2026-05-01T12:00:20.000Z",
    ]);
    assert.equal(await leases.get("BFI4", "rates", 1), null);
  }));

Deno.test("release() with replicas frees the holder's slot for the next agent at once", () =>
  withLeases(async (leases) => {
    await leases.acquire({ ...R, replicas: 2, now: T0 });
    await leases.acquire({ ...B, replicas: 2, now: T0 });
    const released = await leases.release({ ...R, replicas: 2, replica: 0, now: T0 + 1 });
    assert.deepEqual(released, {
      held: false,
      holder: "BFI4/ws-07",
      expiresAt: "2026-05-01T12:00:15.000Z",
      replica: null,
      replicas: 2,
      holders: [null, "BFI4/ws-07"],
    });
    const next = await leases.acquire({ ...A, holder: "BFI4/ws-09", replicas: 2, now: T0 + 2 });
    assert.deepEqual([next.held, next.replica], [true, 0]);
  }));

Deno.test("a single lease and slot 0 are one: going from one copy to several keeps the holder", () =>
  withLeases(async (leases) => {
    assert.deepEqual(await leases.acquire({ ...A, now: T0 }), {
      held: true,
      holder: "BFI4/ws-01",
      expiresAt: "2026-05-01T12:00:15.000Z",
    });
    const renewed = await leases.renew({ ...R, replica: 0, now: T0 + 1 });
    assert.deepEqual([renewed.held, renewed.replica], [true, 0]);
    // And back: an agent asking for one copy sees slot 0's holder.
    assert.equal((await leases.acquire({ ...B, now: T0 + 2 })).holder, "BFI4/ws-01");
    assert.equal((await leases.acquire({ ...B, replicas: 3, now: T0 + 2 })).replica, 1);
  }));

// --- POST /api/v1/leases/<script> -----------------------------------------

async function withApp(
  fn: (
    post: (path: string, body: unknown, token?: string) => Promise<Response>,
    /** A second agent token of the same site (a token speaks for one host only). */
    other: string,
  ) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new Store(kv);
    const app = createApp({
      store,
      config: parseConfig("", { path: "/tmp/collector.toml", vars: {} }),
      clock: { now: () => T0 },
    });
    const { token } = await store.createToken({
      kind: "agent",
      name: "bfi4-ws",
      site: "BFI4",
      now: T0,
    });
    const { token: other } = await store.createToken({
      kind: "agent",
      name: "bfi4-ws7",
      site: "BFI4",
      now: T0,
    });
    await fn((path, body, bearer = token) =>
      Promise.resolve(app.request(path, {
        method: "POST",
        headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      })), other);
  } finally {
    kv.close();
  }
}

Deno.test("POST /api/v1/leases/<script> answers a LeaseResponse for the token's site and ?host=", () =>
  withApp(async (post, other) => {
    const first = await post("/api/v1/leases/rates?host=ws-01", { action: "acquire", ttlMs: 2000 });
    assert.equal(first.status, 200);
    assert.deepEqual(leaseResponseSchema.parse(await first.json()), {
      held: true,
      holder: "BFI4/ws-01",
      expiresAt: "2026-05-01T12:00:02.000Z",
    });
    const second = await post("/api/v1/leases/rates?host=ws-07", { action: "acquire" }, other);
    assert.deepEqual(await second.json(), {
      held: false,
      holder: "BFI4/ws-01",
      expiresAt: "2026-05-01T12:00:02.000Z",
    });
  }));

Deno.test("POST /api/v1/leases/<script> with replicas answers the slot; replica alone is a 400", () =>
  withApp(async (post, other) => {
    const first = await post("/api/v1/leases/rates?host=ws-01", {
      action: "acquire",
      ttlMs: 2000,
      replicas: 2,
    });
    assert.deepEqual(leaseResponseSchema.parse(await first.json()), {
      held: true,
      holder: "BFI4/ws-01",
      expiresAt: "2026-05-01T12:00:02.000Z",
      replica: 0,
      replicas: 2,
      holders: ["BFI4/ws-01", null],
    });
    const second = await post("/api/v1/leases/rates?host=ws-07", {
      action: "acquire",
      replicas: 2,
    }, other);
    assert.deepEqual((await second.json()).holders, ["BFI4/ws-01", "BFI4/ws-07"]);
    const bad = await post("/api/v1/leases/rates?host=ws-01", { action: "renew", replica: 1 });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error, "replica: expected only with replicas, got 1");
  }));

Deno.test("an agent token speaks for its first host only", () =>
  withApp(async (post) => {
    assert.equal(
      (await post("/api/v1/leases/rates?host=ws-01", { action: "acquire" })).status,
      200,
    );
    const forged = await post("/api/v1/leases/rates?host=ws-08", { action: "release" });
    assert.equal(forged.status, 403);
    assert.match((await forged.json()).error, /belongs to host "ws-01", not "ws-08"/);
  }));

Deno.test("POST /api/v1/leases/<script> before any ingest and without ?host= is a 409", () =>
  withApp(async (post) => {
    const response = await post("/api/v1/leases/rates", { action: "acquire" });
    assert.equal(response.status, 409);
    assert.equal(
      (await response.json()).error,
      'Agent token "bfi4-ws" has not ingested yet: send one ingest first, or pass ?host=',
    );
  }));

Deno.test("POST /api/v1/leases/<script> refuses a bad action and an unknown token", () =>
  withApp(async (post) => {
    const bad = await post("/api/v1/leases/rates?host=ws-01", { action: "steal" });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /^action: /);
    const unknown = await post("/api/v1/leases/rates?host=ws-01", { action: "acquire" }, "nope");
    assert.equal(unknown.status, 401);
  }));

const pgTest = { ignore: postgresSkipped !== null, sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "on PostgreSQL a lease lasts by the database's clock, whatever each replica's clock says",
  ...pgTest,
  fn: async () => {
    const [kvA, kvB] = await openPgReplicas();
    try {
      const a = new SiteLeases(kvA);
      const b = new SiteLeases(kvB);
      const now = Date.now();
      assert.equal((await a.acquire({ ...A, ttlMs: 600, now })).held, true);
      // Replica b's clock runs an hour ahead: the lease is still held, by the database's clock.
      const early = await b.acquire({
        ...A,
        holder: "BFI4/ws-02",
        ttlMs: 600,
        now: now + 3_600_000,
      });
      assert.deepEqual([early.held, early.holder], [false, "BFI4/ws-01"]);
      // Once it expired in the database, b's agent takes it (bounded wait: 600 ms there).
      let taken = early;
      for (let i = 0; i < 200 && !taken.held; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        taken = await b.acquire({ ...A, holder: "BFI4/ws-02", ttlMs: 60_000, now: Date.now() });
      }
      assert.equal(taken.held, true);
      // ws-01's late renewal through a (its clock an hour behind) does not get it back.
      const late = await a.renew({ ...A, ttlMs: 600, now: now - 3_600_000 });
      assert.deepEqual([late.held, late.holder], [false, "BFI4/ws-02"]);
      // Relay dedupe: one claim wins across replicas, however their clocks disagree.
      const claims = await Promise.all([
        new SiteDedupe(kvA).claim({
          site: "BFI4",
          key: "post-1",
          windowMs: 60_000,
          by: "BFI4/ws-01",
          now,
        }),
        new SiteDedupe(kvB).claim({
          site: "BFI4",
          key: "post-1",
          windowMs: 60_000,
          by: "BFI4/ws-02",
          now: now + 3_600_000,
        }),
      ]);
      assert.equal(claims.filter(Boolean).length, 1);
    } finally {
      await closePg(kvA);
      await closePg(kvB);
    }
  },
});

Deno.test({
  name: "on PostgreSQL agents racing through two replicas for slots get one each, no agent two",
  ...pgTest,
  fn: async () => {
    const [kvA, kvB] = await openPgReplicas();
    try {
      const replicas = [new SiteLeases(kvA), new SiteLeases(kvB)];
      const now = Date.now();
      const answers = await Promise.all(
        hosts(6).flatMap((holder, i) => [
          replicas[i % 2].acquire({ ...R, holder, now }),
          replicas[(i + 1) % 2].acquire({ ...R, holder, now }),
        ]),
      );
      const held = answers.filter((a) => a.held);
      const slots = new Map(held.map((a) => [a.replica, a.holder]));
      assert.deepEqual([...slots.keys()].sort(), [0, 1, 2]);
      assert.equal(new Set(slots.values()).size, 3, "three different agents");
      for (const a of held) assert.equal(slots.get(a.replica), a.holder);
      // A slot whose record expired in the database is taken by the next agent asking.
      const quick = { ...R, site: "SEA8", replicas: 2, ttlMs: 300 };
      await replicas[0].acquire({ ...quick, holder: "SEA8/ws-0", now });
      await replicas[1].acquire({ ...quick, holder: "SEA8/ws-1", ttlMs: 60_000, now });
      let taken = await replicas[1].acquire({ ...quick, holder: "SEA8/ws-2", now });
      for (let i = 0; i < 100 && !taken.held; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        taken = await replicas[1].acquire({ ...quick, holder: "SEA8/ws-2", now: Date.now() });
      }
      assert.deepEqual([taken.held, taken.replica], [true, 0]);
    } finally {
      await closePg(kvA);
      await closePg(kvB);
    }
  },
});

stopTestStores();
