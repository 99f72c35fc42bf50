import assert from "node:assert/strict";
import type { WireEvent } from "../../shared/protocol.ts";
import { ingestRequest, script } from "../_testing.ts";
import { Store } from "../store/store.ts";
import { DAY_MS, rollUpDays, scriptSegments, scriptUptime, uptimeReport } from "./uptime.ts";

const DAY0 = Date.parse("2026-05-01T00:00:00Z");
const HOUR = 3_600_000;

/** A state change of `rates` at `at` (ms). */
function change(seq: number, at: number, from: string, state: string): WireEvent {
  return {
    seq,
    at: new Date(at).toISOString(),
    kind: "state",
    script: "rates",
    data: { from, state },
  };
}

async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(new Store(kv));
  } finally {
    kv.close();
  }
}

/** Ingests `events` from BFI4/ws-01 at collector time `now`. */
async function ingest(store: Store, now: number, events: WireEvent[]): Promise<void> {
  await store.ingest(
    ingestRequest({ events, scripts: [script("rates")], now: new Date(now).toISOString() }),
    { now, tokenName: "ws-01" },
  );
}

const rates = { site: "BFI4", host: "ws-01", script: "rates" };

Deno.test("uptime counts running as up and backoff as down, and a restart from backoff", async () => {
  await withStore(async (store) => {
    await ingest(store, DAY0 + 10 * HOUR, [
      change(1, DAY0, "stopped", "starting"),
      change(2, DAY0 + 1000, "starting", "running"),
      change(3, DAY0 + 6 * HOUR, "running", "backoff"),
      change(4, DAY0 + 7 * HOUR, "backoff", "starting"),
      change(5, DAY0 + 7 * HOUR + 1000, "starting", "running"),
    ]);
    const up = await scriptUptime(store, { ...rates, since: DAY0, until: DAY0 + 10 * HOUR });
    assert.deepEqual(up.downMs, HOUR);
    assert.deepEqual(up.upMs, 9 * HOUR);
    assert.deepEqual(up.unknownMs, 0);
    assert.deepEqual(up.restarts, 1);
    assert.ok(Math.abs(up.ratio! - 0.9) < 1e-9, `ratio ${up.ratio}`);
  });
});

Deno.test("a retry within a crash loop (it stays crash-looping, with a new pid) is a restart", async () => {
  await withStore(async (store) => {
    const retry = (seq: number, at: number, pid: number | null, reason: string): WireEvent => ({
      ...change(seq, at, "crash-looping", "crash-looping"),
      data: { from: "crash-looping", state: "crash-looping", reason, ...(pid ? { pid } : {}) },
    });
    await ingest(store, DAY0 + HOUR, [
      change(1, DAY0, "stopped", "starting"),
      change(2, DAY0 + 1000, "starting", "running"),
      change(3, DAY0 + 2000, "running", "backoff"),
      change(4, DAY0 + 3000, "backoff", "starting"), // restart 1
      change(5, DAY0 + 3100, "starting", "running"),
      change(6, DAY0 + 4000, "running", "crash-looping"),
      retry(7, DAY0 + 5000, null, "retrying"),
      retry(8, DAY0 + 5100, 4242, "retry running (pid 4242)"), // restart 2
      retry(9, DAY0 + 6000, null, "3 restarts within 1m"),
      retry(10, DAY0 + 7000, null, "retrying"),
      retry(11, DAY0 + 7100, 4243, "retry running (pid 4243)"), // restart 3
    ]);
    const up = await scriptUptime(store, { ...rates, since: DAY0, until: DAY0 + HOUR });
    assert.equal(up.restarts, 3);
  });
});

Deno.test("a window starts in the state of the last change before it", async () => {
  await withStore(async (store) => {
    await ingest(store, DAY0 + 10 * HOUR, [
      change(1, DAY0, "stopped", "running"),
      change(2, DAY0 + 8 * HOUR, "running", "crash-looping"),
    ]);
    const up = await scriptUptime(store, {
      ...rates,
      since: DAY0 + 4 * HOUR,
      until: DAY0 + 10 * HOUR,
    });
    assert.deepEqual({ upMs: up.upMs, downMs: up.downMs }, { upMs: 4 * HOUR, downMs: 2 * HOUR });
  });
});

Deno.test("time while the agent is offline is unknown, and counts for neither", async () => {
  await withStore(async (store) => {
    await ingest(store, DAY0 + HOUR, [change(1, DAY0, "stopped", "running")]);
    // Silent from DAY0 + 1 h (its last ingest) until it reports again at DAY0 + 3 h.
    await store.markOffline(DAY0 + 2 * HOUR, 60_000);
    await ingest(store, DAY0 + 3 * HOUR, []);
    const parts = await scriptSegments(store, { ...rates, since: DAY0, until: DAY0 + 4 * HOUR });
    assert.deepEqual(parts, [
      { from: DAY0, to: DAY0 + HOUR, state: "running" },
      { from: DAY0 + HOUR, to: DAY0 + 3 * HOUR, state: null },
      { from: DAY0 + 3 * HOUR, to: DAY0 + 4 * HOUR, state: "running" },
    ]);
    const up = await scriptUptime(store, { ...rates, since: DAY0, until: DAY0 + 4 * HOUR });
    assert.deepEqual(up.unknownMs, 2 * HOUR);
    assert.deepEqual(up.ratio, 1);
  });
});

Deno.test("stopped and exited time is idle: a script switched off is not down", async () => {
  await withStore(async (store) => {
    await ingest(store, DAY0 + 4 * HOUR, [
      change(1, DAY0, "stopped", "running"),
      change(2, DAY0 + HOUR, "running", "stopping"),
      change(3, DAY0 + HOUR, "stopping", "stopped"),
    ]);
    const up = await scriptUptime(store, { ...rates, since: DAY0, until: DAY0 + 4 * HOUR });
    assert.deepEqual(up.idleMs, 3 * HOUR);
    assert.deepEqual(up.ratio, 1);
    assert.deepEqual(up.restarts, 0);
  });
});

Deno.test("rollups keep whole days' uptime after the history is purged", async () => {
  await withStore(async (store) => {
    await ingest(store, DAY0 + 2 * HOUR, [
      change(1, DAY0, "stopped", "running"),
      change(2, DAY0 + 12 * HOUR, "running", "backoff"),
      change(3, DAY0 + 18 * HOUR, "backoff", "running"),
    ]);
    const week = { ...rates, since: DAY0, until: DAY0 + 3 * DAY_MS };
    const before = await scriptUptime(store, week);
    const written = await rollUpDays(store, { now: DAY0 + 3 * DAY_MS + HOUR, maxDays: 30 });
    assert.deepEqual(written, 3);
    // A second pass has nothing left to do.
    assert.deepEqual(await rollUpDays(store, { now: DAY0 + 3 * DAY_MS + HOUR, maxDays: 30 }), 0);

    await store.history.purge({
      before: DAY0 + 3 * DAY_MS,
      samplesBefore: DAY0 + 3 * DAY_MS,
      rollupsBefore: 0,
    });
    const after = await scriptUptime(store, week);
    assert.deepEqual(after, before);
    assert.deepEqual(after.downMs, 6 * HOUR);
    // The newest change before the cut-off is kept: later windows still know the state.
    const later = await scriptUptime(store, {
      ...rates,
      since: DAY0 + 3 * DAY_MS,
      until: DAY0 + 3 * DAY_MS + HOUR,
    });
    assert.deepEqual(later.upMs, HOUR);
  });
});

Deno.test("the uptime report lists every reported script of the fleet or of one site", async () => {
  await withStore(async (store) => {
    await ingest(store, DAY0 + HOUR, [change(1, DAY0, "stopped", "running")]);
    await store.ingest(
      ingestRequest({ site: "DEN2", host: "ws-09", scripts: [script("loads")] }),
      { now: DAY0 + HOUR, tokenName: "ws-09" },
    );
    const all = await uptimeReport(store, { since: DAY0, until: DAY0 + HOUR });
    assert.deepEqual(all.map((r) => `${r.site}/${r.host}/${r.script}`), [
      "BFI4/ws-01/rates",
      "DEN2/ws-09/loads",
    ]);
    assert.deepEqual(all[0].ratio, 1);
    assert.deepEqual(all[1].ratio, null, "no state change known: no uptime claimed");
    const den = await uptimeReport(store, { site: "DEN2", since: DAY0, until: DAY0 + HOUR });
    assert.deepEqual(den.length, 1);
  });
});

Deno.test("one resource sample per agent is kept every five minutes", async () => {
  await withStore(async (store) => {
    for (let minute = 0; minute < 12; minute++) {
      await store.ingest(
        ingestRequest({ scripts: [script("rates", { rssBytes: 1000 + minute })] }),
        { now: DAY0 + minute * 60_000, tokenName: "ws-01" },
      );
    }
    const points = await store.history.resourceSeries("BFI4", "ws-01", "rates", {
      since: DAY0,
      until: DAY0 + HOUR,
    });
    assert.deepEqual(points.map((p) => p.rssBytes), [1000, 1005, 1010]);
    assert.deepEqual(points[0].at, new Date(DAY0).toISOString());
  });
});

Deno.test("time an agent was offline is unknown, and so is what a purge took", async () => {
  await withStore(async (store) => {
    await ingest(store, DAY0 + HOUR, [change(1, DAY0 + HOUR, "stopped", "running")]);
    await store.markOffline(DAY0 + 2 * HOUR, 60_000); // silent since DAY0 + 1 h
    await ingest(store, DAY0 + 5 * HOUR, []); // back
    const window = { ...rates, since: DAY0 + 2 * HOUR, until: DAY0 + 8 * HOUR };
    const before = await scriptUptime(store, window);
    assert.deepEqual([before.upMs, before.unknownMs], [3 * HOUR, 3 * HOUR]);
    // After a purge what it took is unknown, never guessed online.
    await store.history.purge({ before: DAY0 + 6 * HOUR, samplesBefore: 0, rollupsBefore: 0 });
    const after = await scriptUptime(store, window);
    assert.deepEqual([after.upMs, after.unknownMs], [2 * HOUR, 4 * HOUR]);
  });
});

Deno.test("a scheduled script's runs and a start after its token are not restarts", async () => {
  await withStore(async (store) => {
    await ingest(store, DAY0 + 4 * HOUR, [
      change(1, DAY0, "stopped", "starting"),
      change(2, DAY0 + 1000, "starting", "running"),
      change(3, DAY0 + HOUR, "running", "exited"),
      change(4, DAY0 + 2 * HOUR, "exited", "starting"),
      change(5, DAY0 + 2 * HOUR + 1000, "starting", "waiting-for-token"),
      change(6, DAY0 + 3 * HOUR, "waiting-for-token", "starting"),
      change(7, DAY0 + 3 * HOUR + 1000, "starting", "running"),
    ]);
    const up = await scriptUptime(store, { ...rates, since: DAY0, until: DAY0 + 4 * HOUR });
    assert.equal(up.restarts, 0);
  });
});

Deno.test("a day is rolled up only once it has settled", async () => {
  await withStore(async (store) => {
    await ingest(store, DAY0 + HOUR, [change(1, DAY0, "stopped", "running")]);
    const settle = { maxDays: 30, settleMs: 10 * 60_000 };
    assert.equal(await rollUpDays(store, { now: DAY0 + DAY_MS + 60_000, ...settle }), 0);
    assert.equal(await rollUpDays(store, { now: DAY0 + DAY_MS + 11 * 60_000, ...settle }), 1);
  });
});
