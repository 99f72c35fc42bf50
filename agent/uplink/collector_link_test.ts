/**
 * The collector link against a real local HTTP server standing in for the
 * collector (validating every request with the shared protocol schemas),
 * from a real in-process agent with a `[collector]` table.
 */
import assert from "node:assert/strict";
import { DROPPED_KIND } from "./spool.ts";
import { allAcked, withLinkedAgent } from "./_testing.ts";
import { until } from "../../tests/_helpers.ts";

Deno.test("after the collector refused connections a while, every event arrives once, in order", async () => {
  await withLinkedAgent(async (agent, link, collector) => {
    await allAcked(agent, link);
    await collector.stop();
    for (let i = 0; i < 25; i++) agent.events.append({ kind: "config", reason: `while down ${i}` });
    await until("the outage noticed", () => !link.status().connected && link.status().lastError);
    for (let i = 0; i < 25; i++) agent.events.append({ kind: "config", reason: `still down ${i}` });
    assert.ok(link.status().pending >= 50, `50 events wait, got ${link.status().pending}`);
    collector.start();
    await allAcked(agent, link);
    const seqs = collector.storedSeqs();
    assert.deepEqual(seqs, Array.from({ length: agent.events.lastSeq }, (_, i) => i + 1));
    assert.ok([...collector.received.values()].every((n) => n === 1), "none sent twice");
    const order = collector.requests.flatMap((r) => r.events.map((e) => e.seq));
    assert.deepEqual(order, seqs, "sent in seq order");
    assert.ok(collector.requests.some((r) => r.events.length === 10), "full batches of 10");
    const status = link.status();
    assert.equal(status.connected, true);
    assert.equal(status.lastError, null);
    assert.equal(status.url, collector.url);
  }, { collectorKeys: "batch_size = 10" });
});

Deno.test("with two collector URLs, one of them not answering, every event reaches the other", async () => {
  // A port nothing listens on: connections to it are refused.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dead = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/`;
  listener.close();
  await withLinkedAgent(async (agent, link, collector) => {
    await allAcked(agent, link);
    // The long-poll's first request may still be failing against the dead URL: it moves on too.
    await until(
      "connected through the second URL",
      () => link.status().url === collector.url && link.status().connected,
    );
    for (let i = 0; i < 5; i++) agent.events.append({ kind: "config", reason: `event ${i}` });
    await allAcked(agent, link);
    assert.deepEqual(
      collector.storedSeqs(),
      Array.from({ length: agent.events.lastSeq }, (_, i) => i + 1),
    );
  }, { urls: (url) => [dead, url] });
});

Deno.test("a batch sent again after its answer was lost is stored once and acked", async () => {
  await withLinkedAgent(async (agent, link, collector) => {
    await allAcked(agent, link);
    const acked = link.ackedSeq;
    collector.mode = "lose-answer";
    const event = agent.events.append({ kind: "config", reason: "answer lost" });
    await until("the lost answer noticed", () => link.status().lastError);
    assert.equal(link.ackedSeq, acked, "not acked without an answer");
    await allAcked(agent, link);
    assert.equal(collector.received.get(event.seq), 2, "sent again");
    assert.equal(collector.stored.get(event.seq)?.data.reason, "answer lost");
    assert.ok(link.ackedSeq >= event.seq);
  });
});

Deno.test("over spool_limit the oldest resource samples are dropped, reported, and nothing else", async () => {
  await withLinkedAgent(async (agent, link, collector) => {
    await until("the first ingest failed", () => link.status().lastError);
    for (let i = 0; i < 30; i++) {
      agent.events.append({ kind: "check", script: "s", check: "memory", status: "ok", value: i });
      if (i % 3 === 0) agent.events.append({ kind: "state", script: "s", reason: `kept ${i}` });
    }
    await until("samples dropped", () => link.status().dropped > 0);
    const { dropped } = link.status();
    collector.mode = "ok";
    await allAcked(agent, link);
    // Every seq is accounted for: a dropped one as a marker, so the contiguous ack moves on.
    assert.deepEqual(
      collector.storedSeqs(),
      Array.from({ length: agent.events.lastSeq }, (_, i) => i + 1),
    );
    const all = [...collector.stored.values()];
    assert.equal(all.filter((e) => e.kind === DROPPED_KIND).length, dropped);
    const kept = all.filter((e) => e.kind !== DROPPED_KIND);
    assert.equal(kept.filter((e) => e.data.reason?.toString().startsWith("kept")).length, 10);
    assert.ok(kept.some((e) => e.kind === "state" && e.data.state === "running"));
    const samples = kept.filter((e) => e.data.check === "memory").map((e) => e.data.value);
    assert.equal(samples.length, 30 - dropped);
    assert.deepEqual(samples, Array.from({ length: 30 - dropped }, (_, i) => i + dropped));
    assert.equal(collector.requests.at(-1)?.dropped, dropped, "reported to the collector");
  }, { mode: "unavailable", collectorKeys: "spool_limit = 20" });
});

Deno.test("a refused token shows in status().lastError", async () => {
  await withLinkedAgent(async (_agent, link) => {
    const error = await until("the refusal", () => link.status().lastError ?? undefined);
    assert.match(error, /^HTTP 401: \{"error":"bad token"\}$/);
    assert.equal(link.status().connected, false);
    assert.equal(link.status().lastOkAt, null);
  }, { mode: "unauthorized" });
});

Deno.test("script summaries over the ingest limit are trimmed and the events still arrive", async () => {
  await withLinkedAgent(async (agent, link, collector) => {
    const status = agent.supervisor.status.bind(agent.supervisor);
    // 20 scripts with 100 checks of 1000-character reasons: about 2 MB of summaries.
    agent.supervisor.status = () => {
      const [real] = status();
      const checks = Array.from({ length: 100 }, (_, i) => ({
        name: `probe:p${i}`,
        status: "failing" as const,
        reason: "r".repeat(1000),
        since: "2026-05-01T12:00:00.000Z",
        checkedAt: null,
        consecutiveFailures: 1,
        failuresTotal: 1,
      }));
      return Array.from({ length: 20 }, (_, i) => ({ ...real, name: `s${i}`, checks }));
    };
    await allAcked(agent, link);
    assert.equal(collector.tooLarge, 0);
    const last = collector.requests.at(-1)!;
    assert.equal(last.scripts.length, 20);
    assert.equal(last.scripts[0].checks[0].reason.length, 200);
  });
});

for (const features of [undefined, "script-extras"]) {
  const who = features === undefined ? "an older collector" : "one that says script-extras";
  Deno.test(`a script summary's newer keys (pings...) go only to a collector that takes them: ${who}`, async () => {
    await withLinkedAgent(async (agent, link, collector) => {
      const res = await fetch(`http://127.0.0.1:${agent.apiPort}/ping/s`, { method: "POST" });
      await res.body?.cancel();
      const seen = collector.requests.length;
      await until("two ingests after the ping", () => collector.requests.length >= seen + 2);
      const pings = collector.requests.at(-1)!.scripts.find((s) => s.name === "s")?.pings;
      assert.equal(pings, features === undefined ? undefined : 1);
      assert.equal(link.status().lastError, null);
    }, {
      scriptKeys: 'heartbeat_timeout = "1m"\n',
      ...(features === undefined ? {} : { collectorFeatures: features }),
    });
  });
}
