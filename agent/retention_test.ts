import assert from "node:assert/strict";
import { SqliteKv } from "../shared/kv/sqlite_kv.ts";
import { Outbox } from "../shared/notify/mod.ts";
import type { Channel } from "../shared/notify/types.ts";
import { FakeClock } from "./tokens/_testing.ts";
import { Retention } from "./retention.ts";
import { until } from "../tests/_helpers.ts";

const DAY = 86_400_000;

/** A channel every post to succeeds on. */
const ok: Channel = { name: "ops", kind: "memory", send: () => Promise.resolve({ ok: true }) };

Deno.test("the agent prunes delivered messages once older than [agent] history, not before", async () => {
  const kv = new SqliteKv(":memory:");
  const clock = new FakeClock();
  const outbox = new Outbox(kv, { channels: new Map([["ops", ok]]), clock });
  const retention = new Retention({ kv, clock, historyMs: () => 14 * DAY });
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

    clock.advance(13 * DAY);
    assert.deepEqual(await retention.prune(), { messages: 0 }, "13 days: kept");
    clock.advance(DAY + 1000);
    assert.deepEqual(await retention.prune(), { messages: 3 });
    assert.equal((await outbox.list({})).length, 0);
  } finally {
    await retention.close();
    await outbox.close({ graceMs: 0 });
    kv.close();
  }
});
