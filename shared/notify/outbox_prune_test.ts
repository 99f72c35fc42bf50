import assert from "node:assert/strict";
import { SqliteKv } from "../kv/sqlite_kv.ts";
import { OutboxStore } from "./_outbox_store.ts";
import { pruneMessages } from "./outbox_prune.ts";
import type { MessageState } from "./types.ts";

const T0 = Date.parse("2026-12-01T09:00:00Z");
const MINUTE = 60_000;

/** A store holding one message in each of `states`, made at T0 and moved to its state at T0+1m. */
async function storeWith(states: MessageState[]): Promise<{ kv: SqliteKv; store: OutboxStore }> {
  const kv = new SqliteKv(":memory:");
  const store = new OutboxStore(kv);
  for (const [i, state] of states.entries()) {
    const id = `${String(i).padStart(4, "0")}-${state}`;
    await store.claim({
      id,
      channel: "ops",
      dedupeKey: `key-${id}`,
      claimKey: `key-${id}`,
      payload: new TextEncoder().encode(JSON.stringify({ type: "test", text: state })),
      state: "queued",
      unclaimed: false,
      windowMs: 3_600_000,
      nowMs: T0,
    });
    if (state === "queued") continue;
    const current = await store.record(id);
    assert.ok(await store.transition(current!, { state, nowMs: T0 + MINUTE }));
  }
  return { kv, store };
}

Deno.test("finished messages are pruned once older than the history, never before", async () => {
  const states: MessageState[] = [
    "sent",
    "failed",
    "dead-lettered",
    "uncertain",
    "retrying",
    "queued",
  ];
  const { kv, store } = await storeWith(states);
  try {
    // Made before the cut but changed after it: kept.
    assert.equal(await pruneMessages(kv, T0 + MINUTE / 2, 100), 0);
    assert.equal(await pruneMessages(kv, T0, 100), 0);
    assert.equal((await store.idsIn("sent")).length, 1);

    assert.equal(await pruneMessages(kv, T0 + 2 * MINUTE, 100), 3);
    const counts = await store.counts();
    assert.deepEqual(
      [
        counts.sent,
        counts.failed,
        counts["dead-lettered"],
        counts.uncertain,
        counts.retrying,
        counts.queued,
      ],
      [0, 0, 0, 1, 1, 1],
      "the uncertain, retrying and queued messages are kept",
    );
    assert.equal(await store.record("0000-sent"), null);
    assert.equal(await store.payload("0000-sent"), null);
    assert.ok(await store.record("0003-uncertain"));
    // The pruned message's dedupe claim still holds within its window.
    const again = await store.claim({
      id: "9999-again",
      channel: "ops",
      dedupeKey: "key-0000-sent",
      claimKey: "key-0000-sent",
      payload: new TextEncoder().encode("{}"),
      state: "queued",
      unclaimed: false,
      windowMs: 3_600_000,
      nowMs: T0 + 2 * MINUTE,
    });
    assert.deepEqual(again, { id: "0000-sent", duplicate: true });
  } finally {
    kv.close();
  }
});

Deno.test("pruning deletes at most the batch asked for, oldest first", async () => {
  const { kv, store } = await storeWith(["sent", "sent", "sent", "sent", "sent"]);
  try {
    assert.equal(await pruneMessages(kv, T0 + 2 * MINUTE, 2), 2);
    assert.deepEqual(await store.idsIn("sent"), ["0002-sent", "0003-sent", "0004-sent"]);
    assert.equal(await pruneMessages(kv, T0 + 2 * MINUTE, 10), 3);
    assert.equal((await store.counts()).sent, 0);
  } finally {
    kv.close();
  }
});
