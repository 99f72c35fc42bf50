import assert from "node:assert/strict";
import type { WireEvent } from "../../shared/protocol.ts";
import { ingestRequest, script } from "../_testing.ts";
import { Store } from "../store/store.ts";
import { FULL_PASS_EVERY_MS, UptimeCache } from "./uptime_cache.ts";

const T0 = Date.parse("2026-05-01T09:30:00Z");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const HOSTS = ["ws-01", "ws-02", "ws-03"];
const SCRIPTS = ["rates", "tokens"];

/** A clock the test sets. */
function testClock(at: number) {
  return {
    at,
    now() {
      return this.at;
    },
  };
}

/** A store in memory, a clock at {@linkcode T0} and an uptime cache over both; closed on dispose. */
async function fleetCache() {
  const kv = await Deno.openKv(":memory:");
  const store = new Store(kv);
  const clock = testClock(T0);
  return {
    kv,
    store,
    clock,
    cache: new UptimeCache(store, clock),
    [Symbol.asyncDispose]: () => Promise.resolve(kv.close()),
  };
}

let seqs = 0;
/** A state change of `script` at `at` (ms). */
function change(script: string, at: number, from: string, state: string): WireEvent {
  return {
    seq: ++seqs,
    at: new Date(at).toISOString(),
    kind: "state",
    script,
    data: { from, state },
  };
}

async function ingest(store: Store, host: string, now: number, events: WireEvent[] = []) {
  await store.ingest(
    ingestRequest({
      host,
      events,
      scripts: SCRIPTS.map((s) => script(s)),
      now: new Date(now).toISOString(),
    }),
    { now, tokenName: host },
  );
}

/** Every script's numbers as a cache shows them. */
function shown(cache: UptimeCache) {
  return HOSTS.flatMap((host) => SCRIPTS.map((s) => [host, s, cache.recent("BFI4", host, s)]));
}

/** What a new cache reading everything from the store shows at the same moment. */
async function fromScratch(store: Store, now: number) {
  const fresh = new UptimeCache(store, testClock(now));
  await fresh.refresh();
  return shown(fresh);
}

Deno.test("refreshes that read only what changed show what reading everything would", async () => {
  await using t = await fleetCache();
  const { store, clock, cache } = t;
  for (const host of HOSTS) {
    await ingest(store, host, T0, [
      // ws-03's rates was down for the first minute of the window: that minute slides out.
      ...(host === "ws-03"
        ? [
          change("rates", T0 - DAY - 3 * HOUR, "stopped", "backoff"),
          change("rates", T0 - DAY + MINUTE, "backoff", "running"),
        ]
        : [change("rates", T0 - 3 * HOUR, "stopped", "running")]),
      change("tokens", T0 - 2 * HOUR, "stopped", "running"),
    ]);
  }
  await cache.refresh();
  const readAtFirst = cache.passes.scriptsRead;
  assert.equal(readAtFirst, HOSTS.length * SCRIPTS.length);
  assert.ok(cache.recent("BFI4", "ws-03", "rates")!.ratio! < 1, "the down minute is counted");
  // Each step: time passes (a window slides), and something changes on one host or none; all
  // within the 5 minutes before a refresh reads everything again.
  const steps: [number, (now: number) => Promise<void>][] = [
    [20_000, async () => {}],
    [
      20_000,
      (now) => ingest(store, "ws-01", now, [change("rates", now - 5000, "running", "backoff")]),
    ],
    [20_000, async () => {}],
    [
      30_000,
      (now) => ingest(store, "ws-01", now, [change("rates", now - 1000, "backoff", "starting")]),
    ],
    [40_000, (now) => ingest(store, "ws-02", now, [change("tokens", now, "running", "failed")])],
    [60_000, (now) => store.markOffline(now, 30_000).then(() => {})],
    [20_000, async () => {}],
    [20_000, (now) => ingest(store, "ws-03", now)], // back online
  ];
  const check = async () => {
    await cache.refresh();
    assert.deepEqual(shown(cache), await fromScratch(store, clock.at), `at +${clock.at - T0} ms`);
  };
  for (const [advance, act] of steps) {
    clock.at += advance;
    await act(clock.at);
    await check();
  }
  assert.equal(cache.passes.full, 1, "every refresh after the first slid or read what changed");
  assert.equal(cache.recent("BFI4", "ws-03", "rates")!.ratio, 1, "the down minute slid out");
  clock.at += 90 * MINUTE;
  await check();
  const restarts = cache.recent("BFI4", "ws-01", "rates")?.restarts;
  assert.equal(restarts, 1, "the start after the backoff is a restart");
});

Deno.test("a refresh reads from the store only the scripts and agents whose history changed", async () => {
  await using t = await fleetCache();
  const { store, clock, cache } = t;
  for (const host of HOSTS) await ingest(store, host, T0);
  await cache.refresh();
  const first = cache.passes.scriptsRead;
  clock.at += 30_000;
  await ingest(store, "ws-02", clock.at, [change("rates", clock.at - 1000, "running", "backoff")]);
  await cache.refresh();
  assert.equal(cache.passes.scriptsRead - first, 1, "only ws-02's rates was read");
  clock.at += 30_000;
  await cache.refresh();
  assert.equal(cache.passes.scriptsRead - first, 1, "nothing changed: nothing read");
});

Deno.test("a fleet going offline and coming back is refreshed from each agent's presence", async () => {
  await using t = await fleetCache();
  const { store, clock, cache } = t;
  // Last heard three hours ago, running for an hour before that.
  for (const host of HOSTS) {
    await ingest(store, host, T0 - 3 * HOUR, [
      change("rates", T0 - 4 * HOUR, "stopped", "running"),
    ]);
  }
  await cache.refresh();
  const before = cache.passes;
  assert.match(cache.recent("BFI4", "ws-01", "rates")!.strip, /uuuu$/, "not known offline yet");
  clock.at += MINUTE;
  assert.equal((await store.markOffline(clock.at, 30_000)).length, HOSTS.length);
  await cache.refresh();
  assert.deepEqual(shown(cache), await fromScratch(store, clock.at));
  assert.match(cache.recent("BFI4", "ws-01", "rates")!.strip, /unnn$/, "offline for 3 hours");
  clock.at += MINUTE;
  for (const host of HOSTS) await ingest(store, host, clock.at);
  await cache.refresh();
  assert.deepEqual(shown(cache), await fromScratch(store, clock.at));
  const after = cache.passes;
  assert.equal(after.full, before.full, "no full pass");
  assert.equal(after.scriptsRead, before.scriptsRead, "no script's state changes read again");
  assert.equal(after.agentsRead - before.agentsRead, 2 * HOSTS.length, "each agent once a refresh");
});

Deno.test("what another process wrote is shown after the next full pass", async () => {
  await using t = await fleetCache();
  const { kv, store, clock, cache } = t;
  for (const host of HOSTS) {
    await ingest(store, host, T0, [change("rates", T0 - 3_600_000, "stopped", "running")]);
  }
  await cache.refresh();
  assert.equal(cache.recent("BFI4", "ws-01", "rates")!.ratio, 1);
  // Another collector on the same store (a replica) sees ws-01's rates fail.
  const other = new Store(kv);
  clock.at += 30_000;
  await ingest(other, "ws-01", clock.at, [change("rates", clock.at - 20_000, "running", "failed")]);
  await cache.refresh();
  assert.equal(cache.recent("BFI4", "ws-01", "rates")!.ratio, 1, "not seen by this process yet");
  clock.at += FULL_PASS_EVERY_MS;
  await cache.refresh();
  assert.deepEqual(shown(cache), await fromScratch(store, clock.at));
  assert.ok(cache.recent("BFI4", "ws-01", "rates")!.ratio! < 1, "the failure is counted");
});

Deno.test("a state change dated ahead of the collector's clock is counted once its time comes", async () => {
  await using t = await fleetCache();
  const { store, clock, cache } = t;
  await ingest(store, "ws-01", T0, [change("rates", T0 - 3_600_000, "stopped", "running")]);
  await cache.refresh();
  // The agent's clock is two minutes ahead: its backoff is dated after the collector's now.
  await ingest(store, "ws-01", T0 + 1000, [change("rates", T0 + 2 * MINUTE, "running", "backoff")]);
  clock.at += 30_000;
  await cache.refresh();
  assert.equal(cache.recent("BFI4", "ws-01", "rates")!.ratio, 1, "not yet");
  for (let i = 0; i < 4; i++) {
    clock.at += 30_000;
    await cache.refresh();
  }
  assert.deepEqual(shown(cache).slice(0, 2), (await fromScratch(store, clock.at)).slice(0, 2));
  assert.ok(cache.recent("BFI4", "ws-01", "rates")!.ratio! < 1, "the backoff is counted");
});

Deno.test("a purge that moved the history's start makes the next refresh read everything", async () => {
  await using t = await fleetCache();
  const { store, clock, cache } = t;
  for (const host of HOSTS) {
    await ingest(store, host, T0, [
      change("rates", T0 - 10 * HOUR, "stopped", "backoff"),
      change("rates", T0 - 5 * HOUR, "backoff", "running"),
    ]);
  }
  await cache.refresh();
  assert.ok(cache.recent("BFI4", "ws-01", "rates")!.ratio! < 1, "the five hours down count");
  // Retention takes everything older than three hours: the down hours are unknown now.
  await store.history.purge({ before: T0 - 3 * HOUR, samplesBefore: 0, rollupsBefore: 0 });
  clock.at += 30_000;
  await cache.refresh();
  assert.equal(cache.passes.full, 2, "the moved start was read, not slid");
  assert.equal(cache.recent("BFI4", "ws-01", "rates")!.ratio, 1);
  assert.deepEqual(shown(cache), await fromScratch(store, clock.at));
});

Deno.test("a script that flapped more than a window keeps is read again on every refresh", async () => {
  await using t = await fleetCache();
  const { store, clock, cache } = t;
  // ws-01's rates went down and up 40 times in the last hour (over 80 segments); the others ran.
  const flaps = Array.from({ length: 40 }, (_, i) => {
    const at = T0 - HOUR + i * MINUTE;
    return [
      change("rates", at, "running", "backoff"),
      change("rates", at + 20_000, "backoff", "starting"),
    ];
  }).flat();
  for (const host of HOSTS) {
    await ingest(store, host, T0, [
      change("rates", T0 - 2 * HOUR, "stopped", "running"),
      ...(host === "ws-01" ? flaps : []),
    ]);
  }
  await cache.refresh();
  const first = cache.passes.scriptsRead;
  for (let i = 0; i < 3; i++) {
    clock.at += 30_000;
    await cache.refresh();
    assert.equal(cache.passes.scriptsRead - first, i + 1, "only the flapping script is read");
    assert.deepEqual(shown(cache), await fromScratch(store, clock.at));
  }
  assert.equal(cache.recent("BFI4", "ws-01", "rates")!.restarts, 40);
});

Deno.test("a refresh of a big fleet lets requests in between agents, and counts the same", async () => {
  await using t = await fleetCache();
  const hosts = Array.from({ length: 40 }, (_, i) => `ws-${String(i).padStart(2, "0")}`);
  for (const host of hosts) {
    await ingest(t.store, host, T0, [change("rates", T0 - HOUR, "stopped", "running")]);
  }
  let pauses = 0;
  const cache = new UptimeCache(t.store, t.clock, {
    runAtMostMs: 0,
    pause: () => (pauses++, Promise.resolve()),
  });
  await cache.refresh();
  t.clock.at += 30_000;
  pauses = 0;
  await cache.refresh(); // nothing changed: every window slid in memory
  assert.ok(pauses >= 3, `${pauses} pauses in a refresh of 40 agents read 16 at a time`);
  const whole = new UptimeCache(t.store, testClock(t.clock.at), { runAtMostMs: Infinity });
  await whole.refresh();
  for (const host of hosts) {
    assert.deepEqual(cache.recent("BFI4", host, "rates"), whole.recent("BFI4", host, "rates"));
  }
  assert.ok(cache.recent("BFI4", "ws-39", "rates")?.ratio === 1, "up all the time it was known");
});
