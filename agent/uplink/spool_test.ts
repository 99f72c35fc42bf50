import assert from "node:assert/strict";
import { EventLog, type NewEvent } from "../supervise/event_log.ts";
import { ACKED_KEY, DROPPED_KIND, Spool, withGapMarkers } from "./spool.ts";

async function withLog(
  fn: (kv: Deno.Kv, events: EventLog) => Promise<void>,
  options: { retain?: number; keepAfter?: () => number } = {},
) {
  const kv = await Deno.openKv(":memory:");
  try {
    const events = await EventLog.open(kv, options);
    await fn(kv, events);
    await events.flush();
  } finally {
    kv.close();
  }
}

const memory = (value: number): NewEvent => ({
  kind: "check",
  script: "rates",
  check: "memory",
  status: "ok",
  value,
});
const state: NewEvent = { kind: "state", script: "rates", state: "running", from: "starting" };

Deno.test("Spool.ack() is stored, so a reopened spool resumes after the acked seq", async () => {
  await withLog(async (kv, events) => {
    for (let i = 0; i < 5; i++) events.append(state);
    const spool = await Spool.open({ kv, events, limit: 100 });
    assert.equal(spool.ackedSeq, 0);
    assert.equal(spool.pending, 5);
    await spool.ack(3);
    assert.equal((await kv.get(ACKED_KEY)).value, 3);
    const again = await Spool.open({ kv, events, limit: 100 });
    assert.equal(again.ackedSeq, 3);
    assert.deepEqual((await again.next(10)).map((e) => e.seq), [4, 5]);
    assert.deepEqual((await again.next(1)).map((e) => e.seq), [4]);
  });
});

Deno.test("Spool.trim() drops the oldest resource samples first and never a state change", async () => {
  await withLog(async (kv, events) => {
    const spool = await Spool.open({ kv, events, limit: 20 });
    for (let i = 0; i < 15; i++) {
      events.append(memory(i));
      events.append(state);
    }
    assert.equal(spool.needsTrim(), true, "30 unacked events, limit 20");
    const result = await spool.trim();
    // Down to a tenth under the limit: 18, so 12 of the 15 samples go, the oldest.
    assert.deepEqual(result, { before: 30, dropped: 12, after: 18 });
    assert.equal(spool.dropped, 12);
    assert.equal(spool.pending, 18);
    assert.equal(spool.needsTrim(), false);
    const left = await spool.next(100);
    assert.equal(left.filter((e) => e.kind === "state").length, 15);
    assert.deepEqual(left.filter((e) => e.kind === "check").map((e) => e.value), [12, 13, 14]);
  });
});

Deno.test("Spool.trim() keeps state changes over the limit and waits before trying again", async () => {
  await withLog(async (kv, events) => {
    const spool = await Spool.open({ kv, events, limit: 10 });
    for (let i = 0; i < 12; i++) events.append(state);
    assert.deepEqual(await spool.trim(), { before: 12, dropped: 0, after: 12 });
    assert.equal(spool.needsTrim(), false, "no rescan on every event while nothing can go");
    events.append(state);
    assert.equal(spool.needsTrim(), false, "a tenth of the limit more first");
    events.append(state);
    assert.equal(spool.needsTrim(), true);
    assert.equal((await spool.next(100)).length, 14);
  });
});

Deno.test("Spool.pending leaves out dropped samples until they are acked past", async () => {
  await withLog(async (kv, events) => {
    const spool = await Spool.open({ kv, events, limit: 10 });
    for (let i = 0; i < 12; i++) events.append(i % 2 ? state : memory(i));
    await spool.trim(); // 12 → 9: samples 1 3 5 dropped
    assert.equal(spool.pending, 9);
    await spool.ack(4);
    assert.equal(spool.pending, 7, "seqs 5..12 without the dropped 5");
    await spool.ack(12);
    assert.equal(spool.pending, 0);
  });
});

Deno.test("EventLog pruning never deletes an event above keepAfter()", async () => {
  let acked = 500;
  await withLog(async (_kv, events) => {
    for (let i = 0; i < 2000; i++) events.append(state);
    await events.flush();
    const [first] = await events.listAfter(0, 1);
    assert.equal(first.seq, 501, "retain = 10 alone would keep only 1991..2000");
    acked = 2000;
    for (let i = 0; i < 1000; i++) events.append(state);
    await events.flush();
    const [next] = await events.listAfter(0, 1);
    assert.equal(next.seq, 2001, "pruned up to the acked seq");
  }, { retain: 10, keepAfter: () => acked });
});

Deno.test("withGapMarkers() stands a marker in for every missing seq, within the limit", () => {
  const event = (seq: number) => ({
    seq,
    at: `2026-01-01T00:00:0${seq}Z`,
    kind: "config" as const,
  });
  const wire = withGapMarkers(2, [event(4), event(5), event(8)], 5);
  assert.deepEqual(wire.map((e) => [e.seq, e.kind]), [
    [3, DROPPED_KIND],
    [4, "config"],
    [5, "config"],
    [6, DROPPED_KIND],
    [7, DROPPED_KIND],
  ]);
  assert.equal(wire[0].at, event(4).at, "a marker has the time of the event after it");
  assert.deepEqual(withGapMarkers(0, [event(1)], 5).map((e) => e.seq), [1]);
});
