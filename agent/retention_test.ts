import assert from "node:assert/strict";
import { SqliteKv } from "../shared/kv/sqlite_kv.ts";
import { Outbox } from "../shared/notify/mod.ts";
import type { Channel } from "../shared/notify/types.ts";
import { FakeClock } from "./tokens/_testing.ts";
import { Retention, USAGE_FRESH_MS } from "./retention.ts";
import { join } from "node:path";
import { tempDir, until } from "../tests/_helpers.ts";

const DAY = 86_400_000;

/** A channel every post to succeeds on. */
const ok: Channel = { name: "ops", kind: "memory", send: () => Promise.resolve({ ok: true }) };

Deno.test("the agent prunes delivered messages once older than [agent] history, not before", async () => {
  await using dir = await tempDir("scriptmon-retention-");
  const path = join(dir.path, "agent.sqlite");
  const kv = new SqliteKv(path);
  const clock = new FakeClock();
  const outbox = new Outbox(kv, { channels: new Map([["ops", ok]]), clock });
  const retention = new Retention({ kv, clock, historyMs: () => 14 * DAY, path });
  try {
    for (let i = 0; i < 3; i++) {
      await outbox.enqueue({
        channel: "ops",
        dedupeKey: `m${i}`,
        payload: { type: "test", text: "x" },
      });
    }
    outbox.start();
    await until("the three messages sent", async () => (await outbox.counts()).sent === 3);
    assert.equal((await outbox.counts()).sent, 3);

    const madeAt = new Date(clock.now()).toISOString();
    clock.advance(13 * DAY);
    assert.deepEqual(
      await retention.prune(),
      { messages: 0, logs: 0, records: 0 },
      "13 days: kept",
    );
    // The store as status and /metrics show it.
    assert.equal(retention.usage?.oldestAt, madeAt);
    assert.ok(retention.usage!.bytes > 0, "the file's size is measured");
    clock.advance(DAY + 1000);
    assert.deepEqual(await retention.prune(), { messages: 3, logs: 0, records: 0 });
    assert.equal((await outbox.list({})).length, 0);
    assert.equal(retention.usage?.oldestAt, null, "nothing is kept now");

    // A status read between passes measures again once the last measure is 5 s old.
    await outbox.enqueue({
      channel: "ops",
      dedupeKey: "late",
      payload: { type: "test", text: "x" },
    });
    const lateAt = new Date(clock.now()).toISOString();
    await retention.fresh();
    assert.equal(retention.usage?.oldestAt, null, "measured just now: not again");
    clock.advance(USAGE_FRESH_MS + 1);
    await retention.fresh();
    assert.equal(retention.usage?.oldestAt, lateAt);
  } finally {
    await retention.close();
    await outbox.close({ graceMs: 0 });
    kv.close();
  }
});

Deno.test("each pass also keeps the log folder under [agent] log_dir_max", async () => {
  await using dir = await tempDir("scriptmon-retention-logs-");
  await Deno.writeFile(join(dir.path, "rates.log"), new Uint8Array(500));
  await Deno.writeFile(join(dir.path, "rates.20261201T080000.000Z.log"), new Uint8Array(500));
  const kv = new SqliteKv(":memory:");
  let cap = 2000;
  const retention = new Retention({
    kv,
    clock: new FakeClock(),
    historyMs: () => DAY,
    logs: { dir: dir.path, maxBytes: () => cap },
  });
  try {
    assert.deepEqual(await retention.prune(), { messages: 0, logs: 0, records: 0 });
    cap = 600; // a reloaded cap applies at the next pass
    assert.deepEqual(await retention.prune(), { messages: 0, logs: 1, records: 0 });
  } finally {
    await retention.close();
    kv.close();
  }
});
