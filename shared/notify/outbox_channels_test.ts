/** setChannels(): webhooks edited, added and removed while the outbox runs. */
import assert from "node:assert/strict";
import { jsonChannel, startRecorder } from "../../tests/_outbox_recorder.ts";
import { okChannel, rejectsWith, setup, text } from "./_outbox_testing.ts";
import type { Channel, SendResult } from "./types.ts";

Deno.test("after setChannels() replaces a channel, its next message goes to the new URL only", async () => {
  await using s = await setup();
  await using b = startRecorder();
  s.outbox.start();
  const first = await s.outbox.enqueue({ channel: "a", dedupeKey: "1", payload: text("one") });
  await s.changes.nth({ id: first.id, state: "sent" });
  s.outbox.setChannels(
    new Map([["a", jsonChannel("a", b.url)], ["b", jsonChannel("b", s.recorder.url)]]),
  );
  const second = await s.outbox.enqueue({ channel: "a", dedupeKey: "2", payload: text("two") });
  await s.changes.nth({ id: second.id, state: "sent" });
  await s.outbox.idle();
  assert.deepEqual(s.recorder.received, ["one"]);
  assert.deepEqual(b.received, ["two"]);
});

Deno.test("a message of a removed channel stays pending and is delivered once the channel is set again", async () => {
  await using s = await setup({
    answer: (t, n) => t === "held" && n === 1 ? { status: 503 } : { status: 200 },
  });
  s.outbox.start();
  const { id } = await s.outbox.enqueue({ channel: "a", dedupeKey: "k", payload: text("held") });
  await s.changes.nth({ id, state: "retrying" });
  const a = jsonChannel("a", s.recorder.url);
  s.outbox.setChannels(new Map([["b", jsonChannel("b", s.recorder.url)]]));
  assert.deepEqual(s.outbox.channelNames(), ["b"]);
  await s.outbox.idle(); // counts only the channels set
  s.clock.advance(60_000); // the retry falls due: nobody is there to make it
  // A round trip through the other channel's worker, long after a's would have sent.
  const other = await s.outbox.enqueue({ channel: "b", dedupeKey: "o", payload: text("other") });
  await s.changes.nth({ id: other.id, state: "sent" });
  assert.deepEqual(s.recorder.count("held"), 1);
  assert.deepEqual((await s.outbox.get(id))?.state, "retrying");
  await rejectsWith(
    () => s.outbox.enqueue({ channel: "a", dedupeKey: "k2", payload: text("x") }),
    RangeError,
    'Cannot queue a message for channel "a": no such channel (known: b)',
  );

  s.outbox.setChannels(new Map([["a", a], ["b", jsonChannel("b", s.recorder.url)]]));
  await s.changes.nth({ id, state: "sent" });
  await s.outbox.idle();
  assert.deepEqual(s.recorder.count("held"), 2);
  assert.deepEqual((await s.outbox.get(id))?.attempts, 2);
});

Deno.test("setChannels() gives a new channel a lane that delivers at once", async () => {
  await using s = await setup();
  s.outbox.start();
  const c = okChannel("c");
  s.outbox.setChannels(new Map([["a", jsonChannel("a", s.recorder.url)], ["c", c]]));
  assert.deepEqual(s.outbox.channelNames(), ["a", "c"]);
  const { id } = await s.outbox.enqueue({ channel: "c", dedupeKey: "k", payload: text("new") });
  await s.changes.nth({ id, state: "sent" });
  assert.deepEqual(c.texts, ["new"]);
});

Deno.test("a send in flight when its channel is replaced finishes on the old channel", async () => {
  await using s = await setup();
  let answer = (_result: SendResult) => {};
  let called = () => {};
  const sending = new Promise<void>((resolve) => called = resolve);
  const old: Channel & { texts: string[] } = {
    name: "a",
    kind: "gated",
    texts: [],
    send(payload) {
      old.texts.push(payload.type === "test" ? payload.text : payload.type);
      called();
      return new Promise((resolve) => answer = resolve);
    },
  };
  const replacement = okChannel("a");
  s.outbox.setChannels(new Map([["a", old]]));
  s.outbox.start();
  const first = await s.outbox.enqueue({ channel: "a", dedupeKey: "1", payload: text("one") });
  await sending;
  s.outbox.setChannels(new Map([["a", replacement]]));
  const second = await s.outbox.enqueue({ channel: "a", dedupeKey: "2", payload: text("two") });
  answer({ ok: true, status: 200 });
  await s.changes.nth({ id: first.id, state: "sent" });
  await s.changes.nth({ id: second.id, state: "sent" });
  assert.deepEqual(old.texts, ["one"]);
  assert.deepEqual(replacement.texts, ["two"]);
});

Deno.test("setChannels() before start() sets the channels start() makes lanes for", async () => {
  await using s = await setup();
  const c = okChannel("c");
  s.outbox.setChannels(new Map([["c", c]]));
  const { id } = await s.outbox.enqueue({ channel: "c", dedupeKey: "k", payload: text("hi") });
  s.outbox.start();
  await s.changes.nth({ id, state: "sent" });
  assert.deepEqual(c.texts, ["hi"]);
  assert.deepEqual(s.recorder.received, []);
});
