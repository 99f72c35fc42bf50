import assert from "node:assert/strict";
import {
  BUSY_WITHIN_MS,
  COMMIT_DELAY_MS,
  GATHER_AT,
  GroupCommit,
  SECOND_COMMIT_AT,
} from "./_group_commit.ts";
import type { KvHandle } from "../../shared/kv/handle.ts";
import type { WriteGroup } from "./_atomic_batches.ts";

/** One agent's ingest-like batch: its record checked at `stamp`, written, and one event. */
function batch(host: string, stamp: string | null, seq = 1): WriteGroup[] {
  return [{
    checks: [{ key: ["agent", "S", host], versionstamp: stamp }, {
      key: ["event", "S", host, seq],
      versionstamp: null,
    }],
    sets: [[["agent", "S", host], { host, seq }], [["event", "S", host, seq], { seq }]],
    deletes: [],
    bytes: 200,
  }];
}

Deno.test("concurrent batches of different agents share commits, and each is stored", async () => {
  await using kv = await Deno.openKv(":memory:");
  const committer = new GroupCommit(kv);
  const hosts = Array.from({ length: 40 }, (_, i) => `h${i}`);
  const results = await Promise.all(hosts.map((host) => committer.commit(batch(host, null))));
  assert.ok(results.every((r) => r.ok));
  for (const host of hosts) {
    assert.deepEqual((await kv.get(["agent", "S", host])).value, { host, seq: 1 });
    assert.deepEqual((await kv.get(["event", "S", host, 1])).value, { seq: 1 });
  }
  const { batches, commits } = committer.stats;
  assert.equal(batches, 40);
  // The first is committed alone at once; the 39 waiting for it share commits of at most 33
  // (two checks each, 100 checks a commit).
  assert.ok(commits <= 3, `${commits} commits for 40 batches`);
});

Deno.test("a batch checking what an earlier one of the group writes gets its own commit and result", async () => {
  await using kv = await Deno.openKv(":memory:");
  const committer = new GroupCommit(kv);
  const blocker = committer.commit(batch("first", null));
  // Both read the agent record as absent; only the first of them may win, as one after another.
  const [a, b, other] = await Promise.all([
    committer.commit(batch("h", null, 1)),
    committer.commit(batch("h", null, 2)),
    committer.commit(batch("k", null)),
    blocker,
  ]);
  assert.equal(a.ok, true);
  assert.equal(b.ok, false, "the second saw the record the first wrote");
  assert.equal(other.ok, true);
  assert.deepEqual((await kv.get(["agent", "S", "h"])).value, { host: "h", seq: 1 });
  assert.equal((await kv.get(["event", "S", "h", 2])).versionstamp, null, "nothing of b stored");
});

Deno.test("a failing check in a shared commit fails only its own batch", async () => {
  await using kv = await Deno.openKv(":memory:");
  await kv.set(["event", "S", "dup", 1], { seq: 1 });
  const committer = new GroupCommit(kv);
  const blocker = committer.commit(batch("first", null));
  const [ok1, dup, ok2] = await Promise.all([
    committer.commit(batch("x", null)),
    committer.commit(batch("dup", null)),
    committer.commit(batch("y", null)),
    blocker,
  ]);
  assert.deepEqual([ok1.ok, dup.ok, ok2.ok], [true, false, true]);
  assert.equal((await kv.get(["agent", "S", "dup"])).versionstamp, null);
  assert.deepEqual((await kv.get(["agent", "S", "y"])).value, { host: "y", seq: 1 });
});

Deno.test("an error in a shared commit reaches only the batch that caused it", async () => {
  await using kv = await Deno.openKv(":memory:");
  const committer = new GroupCommit(kv);
  const tooBig: WriteGroup[] = [{
    checks: [],
    sets: [[["big"], "x".repeat(70_000)]],
    deletes: [],
    bytes: 100,
  }];
  const blocker = committer.commit(batch("first", null));
  const [good, bad] = await Promise.allSettled([
    committer.commit(batch("g", null)),
    committer.commit(tooBig),
    blocker,
  ]);
  assert.equal(good.status, "fulfilled");
  assert.equal(bad.status, "rejected");
  assert.match(String((bad as PromiseRejectedResult).reason), /too large|size/i);
  assert.deepEqual((await kv.get(["agent", "S", "g"])).value, { host: "g", seq: 1 });
});

type ManualTiming = ReturnType<typeof manualTiming>;

/** A clock the test moves, and timers it ends by hand. */
function manualTiming() {
  const waits: { ms: number; end: () => void; cancelled: boolean }[] = [];
  let now = 1_000;
  return {
    waits,
    advance: (ms: number) => void (now += ms),
    timing: {
      now: () => now,
      after: (ms: number, then: () => void) => {
        const wait = { ms, end: then, cancelled: false };
        waits.push(wait);
        return () => void (wait.cancelled = true);
      },
    },
  };
}

Deno.test("on a quiet collector a lone batch is committed at once, without waiting", async () => {
  await using kv = await Deno.openKv(":memory:");
  const clock = manualTiming();
  const committer = new GroupCommit(kv, clock.timing);
  await company(clock, committer);
  clock.advance(BUSY_WITHIN_MS + 1);
  assert.equal((await committer.commit(batch("b", null))).ok, true);
  assert.deepEqual(clock.waits, [], "no batch waited");
});

Deno.test("one caller's batches one after another are committed at once, without waiting", async () => {
  await using kv = await Deno.openKv(":memory:");
  const clock = manualTiming();
  const committer = new GroupCommit(kv, clock.timing);
  for (let i = 0; i < 5; i++) {
    assert.equal((await committer.commit(batch(`h${i}`, null))).ok, true);
    clock.advance(1);
  }
  assert.deepEqual(clock.waits, [], "no batch waited: none ever had company");
  assert.deepEqual(committer.stats, { batches: 5, commits: 5 });
});

/**
 * Three batches at once: the first is committed alone, the two that arrived while it was in
 * flight linger and share the next commit. Company is seen; the waits are cleared.
 */
async function company(clock: ManualTiming, committer: GroupCommit): Promise<void> {
  const all = Promise.all(["x", "y", "z"].map((host) => committer.commit(batch(host, null))));
  await waitsFor(clock, 1);
  clock.advance(COMMIT_DELAY_MS);
  clock.waits[0].end();
  const [x, y, z] = await all;
  assert.ok(x.ok && y.ok && z.ok);
  assert.ok(y.ok && z.ok && y.versionstamp === z.versionstamp, "the two shared a commit");
  clock.waits.length = 0;
}

/** Turns the event loop until `clock` has `count` waits (bounded). */
async function waitsFor(clock: ManualTiming, count: number): Promise<void> {
  for (let turn = 0; turn < 100 && clock.waits.length < count; turn++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

Deno.test("batches arriving a few at a time on a busy collector linger and share a commit", async () => {
  await using kv = await Deno.openKv(":memory:");
  const clock = manualTiming();
  const committer = new GroupCommit(kv, clock.timing);
  await company(clock, committer);
  const before = committer.stats.commits;
  clock.advance(BUSY_WITHIN_MS - 1); // the next arrives soon after the last commit began
  const second = committer.commit(batch("b", null));
  await waitsFor(clock, 1);
  assert.equal(clock.waits.length, 1, "the second waits for company");
  assert.equal(clock.waits[0].ms, COMMIT_DELAY_MS);
  clock.advance(2);
  const third = committer.commit(batch("c", null));
  assert.equal((await kv.get(["agent", "S", "b"])).versionstamp, null, "nothing written yet");
  clock.advance(COMMIT_DELAY_MS - 2);
  clock.waits[0].end();
  const [b, c] = await Promise.all([second, third]);
  assert.ok(b.ok && c.ok);
  assert.equal(b.versionstamp, c.versionstamp, "one commit holds both");
  assert.equal(committer.stats.commits, before + 1);
  assert.equal(clock.waits.length, 1, "the third waited no longer than the first");
});

Deno.test("lingering batches are committed as soon as enough of them wait", async () => {
  await using kv = await Deno.openKv(":memory:");
  const clock = manualTiming();
  const committer = new GroupCommit(kv, clock.timing);
  await company(clock, committer);
  const before = committer.stats.commits;
  const results = [committer.commit(batch("h0", null))];
  await waitsFor(clock, 1);
  assert.equal(clock.waits.length, 1, "the first lingers");
  for (let i = 1; i < GATHER_AT; i++) results.push(committer.commit(batch(`h${i}`, null)));
  // The linger's timer is never ended: the batches went without it, and it was cancelled.
  const stored = await Promise.all(results);
  assert.equal(clock.waits[0].cancelled, true, "no timer left behind");
  assert.ok(stored.every((r) => r.ok));
  assert.equal(new Set(stored.map((r) => r.ok && r.versionstamp)).size, 1, "one commit");
  assert.equal(committer.stats.commits, before + 1);
});

/**
 * `kv` whose commits are held until the test lets them go, one at a time and in order (as a KV
 * file's writer applies them); `begun` counts the commits handed over.
 */
function heldCommits(kv: Deno.Kv) {
  const held: (() => void)[] = [];
  const state = { begun: 0 };
  const handle = {
    atomic() {
      const op = kv.atomic();
      const commit = op.commit.bind(op);
      op.commit = () => {
        state.begun++;
        return new Promise<void>((go) => held.push(go)).then(commit);
      };
      return op;
    },
  } as unknown as KvHandle;
  return {
    handle,
    state,
    /** Lets the oldest held commit go. */
    release: () => held.shift()?.(),
  };
}

/** Turns of the event loop, so that the committer's timers and promises run (bounded). */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("while a commit is on disk, a second begins once enough batches wait for it", async () => {
  await using kv = await Deno.openKv(":memory:");
  const held = heldCommits(kv);
  const committer = new GroupCommit(held.handle);
  const results = [committer.commit(batch("first", null))];
  await settle();
  assert.equal(held.state.begun, 1);
  for (let i = 1; i < SECOND_COMMIT_AT; i++) results.push(committer.commit(batch(`h${i}`, null)));
  await settle();
  assert.equal(held.state.begun, 1, `${SECOND_COMMIT_AT - 1} batches wait for the first commit`);
  results.push(committer.commit(batch("last", null)));
  await settle();
  assert.equal(held.state.begun, 2, "the waiting batches are handed over in a second commit");
  results.push(committer.commit(batch("later", null)));
  await settle();
  assert.equal(held.state.begun, 2, "two commits in flight at most");
  // The last batch may linger for company (real time) before its commit is held: release until
  // every batch is answered (bounded).
  let done = false;
  const all = Promise.all(results).finally(() => done = true);
  for (let round = 0; round < 200 && !done; round++) {
    held.release();
    await settle();
  }
  assert.ok((await all).every((r) => r.ok));
  assert.deepEqual(committer.stats, { batches: SECOND_COMMIT_AT + 2, commits: 3 });
});

Deno.test("a batch checking what a commit in flight writes waits for that commit", async () => {
  await using kv = await Deno.openKv(":memory:");
  const held = heldCommits(kv);
  const committer = new GroupCommit(held.handle);
  const first = committer.commit(batch("h", null, 1));
  await settle();
  // Read the agent record before the first commit stored it: its check must fail, alone.
  const stale = committer.commit(batch("h", null, 2));
  const others = Array.from(
    { length: SECOND_COMMIT_AT },
    (_, i) => committer.commit(batch(`k${i}`, null)),
  );
  await settle();
  assert.equal(held.state.begun, 1, "nothing is handed over before the commit it depends on");
  // The second commit holds the stale batch and fails; then each is committed on its own.
  let done = false;
  const all = Promise.all([first, stale, ...others]).finally(() => done = true);
  for (let round = 0; round < 20 && !done; round++) {
    held.release();
    await settle();
  }
  await all;
  assert.equal((await first).ok, true);
  assert.equal((await stale).ok, false, "the second saw the record the first wrote");
  assert.ok((await Promise.all(others)).every((r) => r.ok), "the others are stored");
  assert.deepEqual((await kv.get(["agent", "S", "h"])).value, { host: "h", seq: 1 });
});
