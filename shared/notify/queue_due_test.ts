import assert from "node:assert/strict";
import { okChannel } from "./_outbox_testing.ts";
import { Outbox } from "./outbox.ts";
import type { PolicyOutput } from "./policy.ts";
import { queueDue } from "./queue_due.ts";
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
