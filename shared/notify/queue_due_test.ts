import assert from "node:assert/strict";
import { okChannel } from "./_outbox_testing.ts";
import { Outbox } from "./outbox.ts";
import type { PolicyOutput } from "./policy.ts";
import { DEDUPE_WINDOW_MS, queueDue } from "./queue_due.ts";
import { SqliteKv } from "../kv/sqlite_kv.ts";
import type { Alert } from "./types.ts";

const alert = (title: string): Alert => ({
  rule: "agent-offline",
  severity: "critical",
  status: "firing",
  title,
  text: "",
  site: "BFI4",
  host: "ws-01",
  at: "2026-05-01T12:00:00.000Z",
  episode: title,
});

const output = (channel: string, title: string): PolicyOutput => ({
  channel,
  dedupeKey: `${title}|${channel}`,
  payload: { type: "alert", alert: alert(title) },
});

Deno.test("a message for a webhook that is not running is dropped, not blocking the rest", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const outbox = new Outbox(kv, { channels: new Map([["ops", okChannel("ops")]]) });
    const left = await queueDue(outbox, [output("pager", "first"), output("ops", "second")]);
    assert.deepEqual(left, [], "nothing held back for a retry");
    const queued = await outbox.list();
    assert.deepEqual(queued.map((m) => m.channel), ["ops"]);
  } finally {
    kv.close();
  }
});

Deno.test("a message's dedupe key is claimed for DEDUPE_WINDOW_MS, then let go", async () => {
  const kv = new SqliteKv(":memory:");
  let now = Date.parse("2026-05-01T12:00:00Z");
  try {
    const outbox = new Outbox(kv, {
      channels: new Map([["ops", okChannel("ops")]]),
      clock: { now: () => now, sleep: () => Promise.resolve() },
    });
    await queueDue(outbox, [output("ops", "down")]);
    now += DEDUPE_WINDOW_MS - 1000;
    await queueDue(outbox, [output("ops", "down")]); // a retry of the same message
    assert.equal((await outbox.list()).length, 1, "the retry is a duplicate");
    now += 2000;
    await queueDue(outbox, [output("ops", "down")]);
    assert.equal((await outbox.list()).length, 2, "past the window the claim is gone");
  } finally {
    kv.close();
  }
});
