import assert from "node:assert/strict";
import { Store } from "./store.ts";
import { SCRIPTS_CHECKPOINT_MS } from "./_writes.ts";
import type { ScriptSummary } from "../../shared/protocol.ts";
import { events, ingestRequest, script } from "../_testing.ts";

import { stopTestStores, testOnStores } from "../../tests/_stores.ts";
import type { KvHandle } from "../../shared/kv/handle.ts";
import { dayTablesOf, lastOfRangesOf, unboundedAtomics } from "./capabilities.ts";
import type { PgKv } from "./postgres/mod.ts";

/** Every test here is a contract both stores keep: it runs on Deno KV and on PostgreSQL. */
function storeTest(name: string, fn: (store: Store, kv: KvHandle) => Promise<void>): void {
  testOnStores(name, (kv) => fn(new Store(kv), kv));
}

const NOW = Date.parse("2026-05-01T12:00:00Z");
const opts = { now: NOW, tokenName: "t" };

storeTest("ingest() stores a repeated batch once and keeps ackedSeq", async (store) => {
  const request = ingestRequest({ events: events([1, 2, 3]) });
  const first = await store.ingest(request, opts);
  assert.deepEqual([first.ackedSeq, first.stored, first.duplicates], [3, 3, 0]);
  const again = await store.ingest(request, opts);
  assert.deepEqual([again.ackedSeq, again.stored, again.duplicates], [3, 0, 3]);
  const page = await store.listEvents({ limit: 100 });
  assert.deepEqual(page.events.map((e) => e.seq), [3, 2, 1]);
});

storeTest(
  "ingest() keeps ackedSeq at the last contiguous seq until the gap fills",
  async (store) => {
    assert.equal(
      (await store.ingest(ingestRequest({ events: events([1, 2, 4, 5]) }), opts)).ackedSeq,
      2,
    );
    const replay = await store.ingest(ingestRequest({ events: events([4, 5]) }), opts);
    assert.deepEqual([replay.ackedSeq, replay.stored], [2, 0]);
    const filled = await store.ingest(ingestRequest({ events: events([3, 4, 5, 6]) }), opts);
    assert.deepEqual([filled.ackedSeq, filled.stored, filled.duplicates], [6, 2, 2]);
    assert.deepEqual(filled.agent.ahead, []);
  },
);

storeTest(
  "ingest() of one agent's 40 batches at once stores each, one after another",
  async (store) => {
    // An agent whose heartbeats pile up (a replay, a retry storm): each commits against the record
    // the one before wrote, where at once they conflicted until some gave up.
    const results = await Promise.all(
      Array.from(
        { length: 40 },
        (_, i) => store.ingest(ingestRequest({ events: events([i + 1]) }), opts),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.stored),
      Array(40).fill(1),
    );
    assert.equal(results.at(-1)?.ackedSeq, 40);
    assert.equal((await store.listEvents({ limit: 100 })).events.length, 40);
  },
);

storeTest("ingest() of a batch too big for one atomic splits it and stores all", async (store) => {
  const seqs = Array.from({ length: 500 }, (_, i) => i + 1);
  const result = await store.ingest(ingestRequest({ events: events(seqs) }), opts);
  assert.deepEqual([result.ackedSeq, result.stored], [500, 500]);
  assert.equal((await store.listEvents({ limit: 1000 })).events.length, 500);
});

storeTest("ingest() of many events with the longest names stores all", async (store, kv) => {
  // 300 state changes of 100-character names: few enough writes for one Deno KV atomic, but their
  // keys are about three times what one takes (80 KiB), so a KV file needs several.
  const [site, host, name] = ["S".repeat(100), "h".repeat(100), "s".repeat(100)];
  const changes = events(Array.from({ length: 300 }, (_, i) => i + 1))
    .map((event) => ({ ...event, kind: "state", script: name }));
  const result = await store.ingest(ingestRequest({ site, host, events: changes }), opts);
  assert.deepEqual([result.ackedSeq, result.stored], [300, 300]);
  let stored = 0;
  for await (const _ of kv.list({ prefix: ["event", site, host] })) stored++;
  assert.equal(stored, 300);
});

storeTest(
  "ingest() of an event already stored beyond the agent record skips it",
  async (store, kv) => {
    await store.ingest(ingestRequest({ events: events([1]) }), opts);
    // As if a crash left seq 2 stored but the agent record not updated: a KV file commits an
    // ingest too big for one atomic in several. PostgreSQL commits any ingest at once.
    const [two] = events([2]);
    await kv.set(["event", "BFI4", "ws-01", 2], { site: "BFI4", host: "ws-01", ...two });
    const seqs = Array.from({ length: 500 }, (_, i) => i + 2);
    const result = await store.ingest(ingestRequest({ events: events(seqs) }), opts);
    assert.equal(result.ackedSeq, 501);
    if (unboundedAtomics(kv)) assert.deepEqual([result.stored, result.duplicates], [500, 0]);
    else assert.deepEqual([result.stored, result.duplicates], [499, 1]);
    let stored = 0;
    for await (const _ of kv.list({ prefix: ["event", "BFI4", "ws-01"] })) stored++;
    assert.equal(stored, 501);
  },
);

storeTest("ingests of one agent through two collectors at once store each event once", async (
  store,
  kv,
) => {
  const other = new Store(kv);
  const results = await Promise.all([
    store.ingest(ingestRequest({ events: events([1, 2, 3, 4]) }), opts),
    other.ingest(ingestRequest({ events: events([3, 4, 5, 6]) }), opts),
    store.ingest(ingestRequest({ events: events([5, 6, 7]) }), opts),
  ]);
  assert.equal(results.reduce((sum, r) => sum + r.stored, 0), 7);
  assert.equal((await store.getAgent("BFI4", "ws-01"))!.ackedSeq, 7);
  const listed = (await store.listEvents({ limit: 100 })).events.map((e) => e.seq);
  assert.deepEqual(listed, [7, 6, 5, 4, 3, 2, 1]);
});

storeTest("ingests of 20 agents at once share commits, each stored once", async (store) => {
  const hosts = Array.from({ length: 20 }, (_, i) => `ws-${String(i + 1).padStart(2, "0")}`);
  const results = await Promise.all(
    hosts.map((host) => store.ingest(ingestRequest({ host, events: events([1, 2]) }), opts)),
  );
  assert.deepEqual(results.map((r) => [r.ackedSeq, r.stored]), hosts.map(() => [2, 2]));
  for (const host of hosts) assert.equal((await store.getAgent("BFI4", host))!.ackedSeq, 2);
  assert.equal((await store.listEvents({ limit: 100 })).events.length, 40);
  const { batches, commits } = store.commitStats;
  assert.equal(batches, 20);
  assert.ok(commits < batches, `${batches} ingests took ${commits} commits`);
});

storeTest(
  "ingest() after another collector wrote the agent's record keeps that collector's events",
  async (store, kv) => {
    // This store remembers the record it wrote; the other changes it behind its back.
    await store.ingest(ingestRequest({ events: events([1, 2]) }), opts);
    const other = new Store(kv);
    await other.ingest(ingestRequest({ events: events([3, 4]) }), opts);
    const next = await store.ingest(ingestRequest({ events: events([4, 5]) }), opts);
    assert.deepEqual([next.ackedSeq, next.stored, next.duplicates], [5, 1, 1]);
    assert.deepEqual((await store.listEvents({ limit: 10 })).events.map((e) => e.seq), [
      5,
      4,
      3,
      2,
      1,
    ]);
  },
);

storeTest(
  "ingest() says commands may wait when one was queued since its last ingest, by any process",
  async (store, kv) => {
    const first = await store.ingest(ingestRequest({ events: events([1]) }), opts);
    assert.equal(first.mayHaveCommands, false);
    assert.equal((await store.ingest(ingestRequest(), opts)).mayHaveCommands, false);
    await new Store(kv).commands.queue({
      site: "BFI4",
      host: "ws-01",
      script: "rates",
      action: "restart",
      requestedBy: "ops",
      now: NOW,
      ttlMs: 60_000,
    });
    const next = await store.ingest(ingestRequest({ events: events([2]) }), opts);
    assert.deepEqual([next.mayHaveCommands, next.ackedSeq, next.stored], [true, 2, 1]);
  },
);

storeTest(
  "listScripts() returns the last heartbeat's scripts, split over values when large",
  async (store) => {
    const many = Array.from(
      { length: 300 },
      (_, i) => script(`s${i}`, { reason: "x".repeat(500) }),
    );
    await store.ingest(ingestRequest({ scripts: many }), opts);
    assert.ok((await store.getAgent("BFI4", "ws-01"))!.scriptChunks > 1);
    await store.ingest(ingestRequest({ host: "ws-02" }), opts);
    const listed = await store.listScripts();
    assert.deepEqual(listed.map((a) => [a.agent.host, a.scripts.length]), [["ws-01", 300], [
      "ws-02",
      2,
    ]]);
    await store.ingest(ingestRequest({ scripts: [script("only")] }), opts);
    assert.deepEqual((await store.getScripts("BFI4", "ws-01"))!.map((s) => s.name), ["only"]);
  },
);

storeTest(
  "a heartbeat whose scripts moved only their running numbers writes them at checkpoints, any other change at once",
  async (store, kv) => {
    const heartbeat = (at: number, overrides: Partial<ScriptSummary>) =>
      store.ingest(
        ingestRequest({ scripts: [script("rates", overrides), script("token_monitor")] }),
        { ...opts, now: at },
      );
    const chunkStamp = async () => (await kv.get(["scripts", "BFI4", "ws-01", 0])).versionstamp;
    const rates = async () => {
      const one = (await store.getScripts("BFI4", "ws-01"))!.find((s) => s.name === "rates")!;
      const listed = (await store.listScripts())[0].scripts.find((s) => s.name === "rates")!;
      const paged = (await store.pageScripts({ limit: 10 }))[0].scripts.find((s) =>
        s.name === "rates"
      )!;
      assert.deepEqual(listed, one);
      assert.deepEqual(paged, one);
      return one;
    };
    await heartbeat(NOW, { uptimeMs: 60_000, rssBytes: 1_000, pings: 1 });
    const written = await chunkStamp();
    // 10 s on: uptime, memory, CPU and pings moved; nothing is written but the agent record, and
    // the uptime read back is counted on to the heartbeat.
    await heartbeat(NOW + 10_000, { uptimeMs: 70_000, rssBytes: 2_000, cpuPercent: 9, pings: 4 });
    assert.equal(await chunkStamp(), written);
    assert.deepEqual(
      [(await rates()).uptimeMs, (await rates()).rssBytes, (await rates()).pings],
      [70_000, 1_000, 1],
    );
    // A state, a check's status or a restart is written with the heartbeat that brings it.
    await heartbeat(NOW + 12_000, { uptimeMs: 72_000, health: "unhealthy", pings: 5 });
    assert.notEqual(await chunkStamp(), written);
    assert.deepEqual(
      [(await rates()).health, (await rates()).uptimeMs, (await rates()).pings],
      ["unhealthy", 72_000, 5],
    );
    await heartbeat(NOW + 13_000, { state: "stopped", pid: null, uptimeMs: null, pings: 5 });
    assert.deepEqual([(await rates()).state, (await rates()).uptimeMs], ["stopped", null]);
    // Running numbers alone: written again once the last write is a checkpoint old.
    const stopped = await chunkStamp();
    await heartbeat(NOW + 13_000 + SCRIPTS_CHECKPOINT_MS - 1, {
      state: "stopped",
      pid: null,
      uptimeMs: null,
      pings: 6,
    });
    assert.equal(await chunkStamp(), stopped);
    await heartbeat(NOW + 13_000 + SCRIPTS_CHECKPOINT_MS, {
      state: "stopped",
      pid: null,
      uptimeMs: null,
      pings: 7,
    });
    assert.notEqual(await chunkStamp(), stopped);
    assert.equal((await rates()).pings, 7);
    // Another collector (no record cached) decides on the stored record alike.
    const other = new Store(kv);
    const before = await chunkStamp();
    await other.ingest(
      ingestRequest({
        scripts: [
          script("rates", { state: "stopped", pid: null, uptimeMs: null, pings: 8 }),
          script("token_monitor", { rssBytes: 5 }),
        ],
      }),
      { ...opts, now: NOW + 14_000 + SCRIPTS_CHECKPOINT_MS },
    );
    assert.equal(await chunkStamp(), before);
  },
);

storeTest(
  "markOffline() marks agents silent for offline_after once; ingest brings them back",
  async (store) => {
    await store.ingest(ingestRequest({ host: "old" }), { ...opts, now: NOW - 60_000 });
    await store.ingest(ingestRequest({ host: "fresh" }), opts);
    assert.deepEqual((await store.markOffline(NOW, 30_000)).map((a) => a.host), ["old"]);
    assert.deepEqual(await store.markOffline(NOW, 30_000), []);
    const back = await store.ingest(ingestRequest({ host: "old" }), opts);
    assert.equal(back.cameOnline, true);
    assert.equal(back.agent.online, true);
  },
);

storeTest("commands: queued, pending until acked or expired", async (store) => {
  const seen: string[] = [];
  const stop = store.commands.onQueued((c) => seen.push(c.id));
  const base = { site: "BFI4", host: "ws-01", script: "rates", requestedBy: "ops", now: NOW };
  const a = await store.commands.queue({ ...base, action: "restart", ttlMs: 60_000 });
  const b = await store.commands.queue({ ...base, action: "stop", ttlMs: 1_000 });
  stop();
  assert.deepEqual(seen, [a.id, b.id]);
  assert.deepEqual((await store.commands.pending("BFI4", "ws-01", NOW)).map((c) => c.id), [
    a.id,
    b.id,
  ]);
  assert.deepEqual(
    (await store.commands.pending("BFI4", "ws-01", NOW + 5_000)).map((c) => c.id),
    [
      a.id,
    ],
  );
  assert.equal((await store.commands.get("BFI4", "ws-01", b.id))?.state, "expired");
  const done = await store.commands.ack("BFI4", "ws-01", [
    { id: a.id, ok: true, message: "restarted", at: "2026-05-01T12:00:01Z" },
    { id: "nope", ok: true, message: "", at: "2026-05-01T12:00:01Z" },
  ]);
  assert.deepEqual(done.map((c) => [c.id, c.state, c.result?.message]), [[
    a.id,
    "done",
    "restarted",
  ]]);
  assert.deepEqual(await store.commands.pending("BFI4", "ws-01", NOW), []);
});

storeTest("listEvents() pages newest first with filters and a cursor", async (store, kv) => {
  await store.ingest(ingestRequest({ events: events([1, 2, 3, 4, 5]) }), opts);
  await store.ingest(ingestRequest({ host: "ws-02", events: events([1, 2]) }), opts);
  const first = await store.listEvents({ host: "ws-01", limit: 2 });
  assert.deepEqual(first.events.map((e) => e.seq), [5, 4]);
  const second = await store.listEvents({ host: "ws-01", limit: 10, cursor: first.cursor! });
  assert.deepEqual(second.events.map((e) => e.seq), [3, 2, 1]);
  assert.equal(second.cursor, null);
  const base = Date.parse("2026-05-01T12:00:00Z");
  const window = await store.listEvents({ since: base + 2000, until: base + 4000, limit: 10 });
  assert.deepEqual(window.events.map((e) => `${e.host}:${e.seq}`), [
    "ws-01:3",
    "ws-02:2",
    "ws-01:2",
  ]);
  assert.deepEqual(
    (await store.listEvents({ kind: "state", host: "ws-01", limit: 10 })).events.map((e) => e.seq),
    [4, 2],
  );
  if (dayTablesOf(kv) === null) {
    assert.equal(await store.purgeEvents(base + 3000), 4);
    assert.equal((await store.listEvents({ limit: 100 })).events.length, 3);
  }
});

storeTest("purgeEvents() removes the events of days past retention, and no others", async (
  store,
  kv,
) => {
  const day = 86_400_000;
  const may1 = Date.parse("2026-05-01T10:00:00Z");
  await store.ingest(ingestRequest({ events: events([1, 2], may1) }), opts);
  await store.ingest(ingestRequest({ events: events([3, 4], may1 + 2 * day) }), opts);
  // Retention reaching to noon on May 2nd: May 1st's events go; May 3rd's stay.
  assert.equal(await store.purgeEvents(Date.parse("2026-05-02T12:00:00Z")), 2);
  assert.deepEqual((await store.listEvents({ limit: 10 })).events.map((e) => e.seq), [4, 3]);
  assert.equal(await store.getEvent("BFI4", "ws-01", 1), null);
  assert.equal((await store.getEvent("BFI4", "ws-01", 3))?.seq, 3);
  const tables = dayTablesOf(kv);
  if (tables !== null) {
    // Dropped as a whole day's table, not row by row.
    const days = await (tables as PgKv["dayTables"]).days("events");
    assert.ok(days.includes("2026-05-03") && !days.includes("2026-05-01"), days.join(", "));
  }
});
storeTest("history.purge() keeps each script's last state before retention, drops the rest", async (
  store,
) => {
  const at = (text: string) => Date.parse(text);
  const state = (seq: number, name: string, when: string, value: string) => ({
    seq,
    at: new Date(at(when)).toISOString(),
    kind: "state",
    script: name,
    data: { state: value },
  });
  await store.ingest(
    ingestRequest({
      events: [
        state(1, "rates", "2026-05-01T10:00:00Z", "running"),
        state(2, "rates", "2026-05-01T11:00:00Z", "crashed"),
        state(3, "load", "2026-05-01T11:30:00Z", "running"),
      ],
      scripts: [script("rates"), script("load")],
    }),
    { now: at("2026-05-01T12:00:00Z"), tokenName: "t" },
  );
  await store.ingest(
    ingestRequest({
      events: [state(4, "rates", "2026-05-03T10:00:00Z", "running")],
      scripts: [script("rates"), script("load")],
    }),
    { now: at("2026-05-03T12:00:00Z"), tokenName: "t" },
  );
  const before = at("2026-05-02T12:00:00Z");
  const purged = await store.history.purge({ before, samplesBefore: before, rollupsBefore: 0 });
  assert.ok(purged >= 2, `purged ${purged}`); // rates' first state and May 1st's sample at least
  const until = at("2026-05-04T00:00:00Z");
  const states = async (name: string) =>
    (await store.history.transitions("BFI4", "ws-01", name, before, until)).map((t) => t.state);
  assert.deepEqual(await states("rates"), ["crashed", "running"]);
  assert.deepEqual(await states("load"), ["running"]);
  const presence = await store.history.presence("BFI4", "ws-01", before, until);
  assert.deepEqual(presence.map((p) => p.online), [true]);
  const samples = await store.history.resourceSeries("BFI4", "ws-01", "rates", {
    since: at("2026-05-01T00:00:00Z"),
    until,
  });
  assert.deepEqual(samples.map((p) => p.at), ["2026-05-03T12:00:00.000Z"]);
  // Raw history is unknown before the cut-off: the retention's, or the start of its day.
  const cutoff = await store.history.purgedBefore();
  assert.ok(cutoff >= at("2026-05-02T00:00:00Z") && cutoff <= before, String(cutoff));
});

storeTest(
  "many scripts' and agents' windows read together are what each reads alone",
  async (store, kv) => {
    // PostgreSQL reads them in one statement each (lastOfRanges); a Deno KV file one by one.
    assert.equal(lastOfRangesOf(kv) !== null, unboundedAtomics(kv));
    const at = (i: number) => NOW - 3_600_000 + i * 60_000;
    const hosts = ["ws-01", "ws-02"];
    for (const host of hosts) {
      // rates: 30 changes (past the first page); load: one, an hour before the window; none: none.
      await store.ingest(
        ingestRequest({
          host,
          events: [
            ...Array.from({ length: 30 }, (_, i) => ({
              seq: i + 1,
              at: new Date(at(i)).toISOString(),
              kind: "state",
              script: "rates",
              data: { state: i % 2 === 0 ? "running" : "backoff", from: null },
            })),
            {
              seq: 31,
              at: new Date(at(-60)).toISOString(),
              kind: "state",
              script: "load",
              data: { state: "running", from: null },
            },
          ],
        }),
        { ...opts, now: at(host === "ws-01" ? 30 : 35) },
      );
    }
    await store.markOffline(at(45), 60_000);
    const scripts = hosts.flatMap((host) =>
      ["none", "rates", "load"].map((script) => ({ site: "BFI4", host, script }))
    );
    const agents = [...hosts, "ws-09"].map((host) => ({ site: "BFI4", host }));
    for (const [since, until] of [[at(5) - 1, NOW], [at(10), at(10)], [at(-90), at(-80)]]) {
      const together = await store.history.transitionsOf(scripts, since, until);
      const alone = await Promise.all(
        scripts.map(({ host, script }) =>
          store.history.transitions("BFI4", host, script, since, until)
        ),
      );
      assert.deepEqual(together, alone, `transitions in [${since}, ${until})`);
      const presence = await store.history.presenceOf(agents, since, until);
      const each = await Promise.all(
        agents.map(({ host }) => store.history.presence("BFI4", host, since, until)),
      );
      assert.deepEqual(presence, each, `presence in [${since}, ${until})`);
    }
    const window = await store.history.transitionsOf(scripts, at(5) - 1, NOW);
    assert.deepEqual(window.map((w) => w.length), [0, 26, 1, 0, 26, 1]);
    assert.deepEqual(await store.history.transitionsOf([], 0, NOW), []);
  },
);

storeTest(
  "listEvents() of an empty window (until before since) is empty, not an error",
  async (store) => {
    await store.ingest(ingestRequest({ events: events([1, 2]) }), opts);
    assert.deepEqual(await store.listEvents({ until: -263_070, limit: 10 }), {
      events: [],
      cursor: null,
    });
    assert.deepEqual(
      await store.listEvents({ since: NOW, until: NOW - 1, limit: 10 }),
      { events: [], cursor: null },
    );
  },
);

storeTest(
  "pageScripts() reads the fleet a page of agents at a time, from an agent on",
  async (store) => {
    for (const [site, host] of [["BFI4", "ws-02"], ["BFI4", "ws-01"], ["SEA8", "ws-01"]]) {
      await store.ingest(
        ingestRequest({ site, host, scripts: [script("b"), script("a")] }),
        opts,
      );
    }
    const first = await store.pageScripts({ limit: 2 });
    assert.deepEqual(first.map((x) => `${x.agent.site}/${x.agent.host}`), [
      "BFI4/ws-01",
      "BFI4/ws-02",
    ]);
    assert.deepEqual(first[0].scripts.map((s) => s.name), ["b", "a"]);
    const rest = await store.pageScripts({ from: { site: "BFI4", host: "ws-02" }, limit: 10 });
    assert.deepEqual(rest.map((x) => `${x.agent.site}/${x.agent.host}`), [
      "BFI4/ws-02",
      "SEA8/ws-01",
    ]);
    assert.deepEqual((await store.pageScripts({ site: "SEA8", limit: 10 })).length, 1);
  },
);

stopTestStores();

storeTest(
  "a window's transitions come whole and in order past the first page, with the one before",
  async (store) => {
    const at = (i: number) => NOW - 3_600_000 + i * 60_000;
    const states = Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? "running" : "backoff"));
    await store.ingest(
      ingestRequest({
        events: states.map((state, i) => ({
          seq: i + 1,
          at: new Date(at(i)).toISOString(),
          kind: "state",
          script: "rates",
          data: { state, from: null, n: i },
        })),
      }),
      opts,
    );
    // The window starts after the fifth change: the fifth is the one before it.
    const got = await store.history.transitions("BFI4", "ws-01", "rates", at(5) - 1, NOW);
    assert.deepEqual(got.map((t) => t.at), Array.from({ length: 26 }, (_, i) => at(i + 4)));
    const empty = await store.history.transitions("BFI4", "ws-01", "rates", at(10), at(10));
    assert.deepEqual(empty.map((t) => t.at), [at(9)], "an empty window: only the one before");
  },
);
