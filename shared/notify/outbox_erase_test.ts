import assert from "node:assert/strict";
import { Outbox } from "./outbox.ts";
import { eraseMessages } from "./outbox_erase.ts";
import type { Alert, Payload } from "./types.ts";
import { okChannel } from "./_outbox_testing.ts";

function alert(site: string, host: string): Payload {
  const alert: Alert = {
    rule: "agent-offline",
    severity: "critical",
    status: "firing",
    title: `${host} is offline (${site})`,
    text: "gone",
    site,
    host,
    at: "2026-05-01T12:00:00.000Z",
    episode: "1",
  };
  return { type: "alert", alert };
}

const ofSite = (site: string) => (p: Payload) => p.type === "alert" && p.alert.site === site;

Deno.test("eraseMessages() deletes finished messages it matches, their claims and counts", async () => {
  const kv = await Deno.openKv(":memory:");
  const outbox = new Outbox(kv, { channels: new Map([["a", okChannel("a")]]) });
  try {
    outbox.start();
    for (const [site, host] of [["GONE1", "ws-a"], ["GONE1", "ws-b"], ["KEEP2", "ws-c"]]) {
      await outbox.enqueue({
        channel: "a",
        dedupeKey: `off|${site}|${host}`,
        payload: alert(site, host),
      });
    }
    await outbox.enqueue({
      channel: "a",
      dedupeKey: "off|GONE1|ws-d",
      payload: alert("GONE1", "ws-d"),
      state: "silenced",
    });
    await outbox.idle();
    assert.equal((await outbox.counts()).sent, 3);

    assert.equal(await eraseMessages(kv, ofSite("GONE1"), { dryRun: true }), 3);
    assert.equal(await eraseMessages(kv, ofSite("GONE1")), 3);

    const left: string[] = [];
    for await (const { key, value } of kv.list({ prefix: [] })) {
      if (key[1] === "count") continue;
      const text = value instanceof Uint8Array
        ? new TextDecoder().decode(value)
        : JSON.stringify(value);
      left.push(JSON.stringify(key) + text);
    }
    assert.deepEqual(left.filter((e) => e.includes("GONE1")), []);
    assert.ok(left.some((e) => e.includes("KEEP2")));
    const counts = await outbox.counts();
    assert.deepEqual([counts.sent, counts.silenced], [1, 0]);
    // The claim is gone with its message: the same key may be queued again.
    const again = await outbox.enqueue({
      channel: "a",
      dedupeKey: "off|GONE1|ws-a",
      payload: alert("GONE1", "ws-a"),
    });
    assert.equal(again.duplicate, false);
  } finally {
    await outbox.close({ graceMs: 0 });
    kv.close();
  }
});
