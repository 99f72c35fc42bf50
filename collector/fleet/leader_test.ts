import assert from "node:assert/strict";
import { Leadership } from "./leader.ts";
import { systemClock } from "../clock.ts";
import type { KvHandle } from "../../shared/kv/handle.ts";
import { closePg, openPgReplicas, postgresSkipped, stopTestStores } from "../../tests/_stores.ts";

/** A Leadership whose gains and losses can be awaited. */
function replica(kv: KvHandle, id: string, ttlMs: number) {
  const log: string[] = [];
  let waiters: { want: string; resolve: () => void }[] = [];
  const note = (what: string) => {
    log.push(what);
    waiters = waiters.filter((w) => (w.want === what ? (w.resolve(), false) : true));
  };
  const leadership = new Leadership(kv, {
    id,
    ttlMs,
    clock: systemClock,
    onGain: (epoch) => Promise.resolve(note(`gain ${epoch}`)),
    onLose: () => Promise.resolve(note("lose")),
  });
  /** Resolves when `what` happens (at once if it did); fails after `ms` as a guard only. */
  const when = (what: string, ms = 20_000) =>
    log.includes(what) ? Promise.resolve() : new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${id}: no "${what}" in ${ms} ms; saw ${log}`)),
        ms,
      );
      waiters.push({ want: what, resolve: () => (clearTimeout(timer), resolve()) });
    });
  return { leadership, log, when };
}

const pg = { ignore: postgresSkipped !== null, sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "two collectors on one database: one leads; when it dies the other takes over, fenced",
  ...pg,
  fn: async () => {
    const [kvA, kvB] = await openPgReplicas();
    const a = replica(kvA, "a", 900);
    const b = replica(kvB, "b", 900);
    await a.leadership.start();
    await b.leadership.start();
    assert.deepEqual([a.leadership.isLeader(), b.leadership.isLeader()], [true, false]);
    assert.equal(a.leadership.epoch(), 1);
    // A few rounds later, still one leader: b keeps trying and keeps failing.
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.deepEqual([a.leadership.isLeader(), b.leadership.isLeader()], [true, false]);
    assert.deepEqual(b.log, []);
    // a dies: its pool closes, so it neither renews nor gives the lease up.
    // A write a prepared while it led, fenced by its lease (sent through b's pool: a's is gone).
    const fenced = a.leadership.fence(kvB.atomic()).set(["written-by", "a"], 1);
    await closePg(kvA);
    await b.when("gain 2");
    assert.equal(b.leadership.isLeader(), true);
    // By its own clock a stops counting itself leader within ttl of its last renewal.
    assert.equal(a.leadership.isLeader(), false);
    // a's fenced write cannot land any more; b's can.
    assert.equal((await fenced.commit()).ok, false);
    assert.equal((await kvB.get(["written-by", "a"])).value, null);
    const now = await b.leadership.fence(kvB.atomic()).set(["written-by", "b"], 1).commit();
    assert.equal(now.ok, true);
    await a.leadership.close();
    await b.leadership.close();
    assert.deepEqual(b.log, ["gain 2", "lose"]);
    await closePg(kvB);
  },
});

Deno.test({
  name: "a collector closing gives the lease up: the other leads at its next round",
  ...pg,
  fn: async () => {
    const [kvA, kvB] = await openPgReplicas();
    const a = replica(kvA, "a", 60_000);
    const b = replica(kvB, "b", 600);
    await a.leadership.start();
    await b.leadership.start();
    assert.equal(b.leadership.isLeader(), false);
    await a.leadership.close();
    assert.deepEqual(a.log, ["gain 1", "lose"]);
    // The lease was 60 s long, yet b takes it within a round (200 ms) of the release.
    await b.when("gain 2", 5_000);
    await b.leadership.close();
    await closePg(kvA);
    await closePg(kvB);
  },
});

Deno.test("a renewal of the lease does not refuse the leader's fenced writes", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const one = replica(kv, "one", 300); // renewed every 100 ms
    await one.leadership.start();
    const before = (await kv.get(["leader", "periodic"])).versionstamp;
    const write = one.leadership.fence(kv.atomic()).set(["written-by", "one"], 1);
    let renewed = before;
    for (let round = 0; round < 100 && renewed === before; round++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      renewed = (await kv.get(["leader", "periodic"])).versionstamp;
    }
    assert.notEqual(renewed, before, "the lease was renewed meanwhile");
    assert.equal((await write.commit()).ok, true, "the leader's write, prepared before, lands");
    await one.leadership.close();
    const after = one.leadership.fence(kv.atomic()).set(["written-by", "one"], 2);
    assert.equal((await after.commit()).ok, false, "no longer leading: refused");
  } finally {
    kv.close();
  }
});

Deno.test("on a Deno KV file the collector leads at once, whatever an earlier run left", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await kv.set(["leader", "periodic"], {
      holder: "crashed",
      epoch: 4,
      acquiredAt: Date.now(),
      renewedAt: Date.now(),
      expiresAt: Date.now() + 60_000,
    });
    await kv.set(["leader", "periodic_epoch"], 4);
    const one = replica(kv, "one", 60_000);
    await one.leadership.start();
    assert.equal(one.leadership.isLeader(), true);
    assert.deepEqual(one.log, ["gain 5"]);
    await one.leadership.close();
    assert.equal((await kv.get(["leader", "periodic"])).value, null);
  } finally {
    kv.close();
  }
});

stopTestStores();
