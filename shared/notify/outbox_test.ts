import assert from "node:assert/strict";
import { join } from "node:path";
import { OutboxStore } from "./_outbox_store.ts";
import { hangingChannel, okChannel, rejectsWith, setup, text } from "./_outbox_testing.ts";
import { Outbox } from "./outbox.ts";
import { until } from "../../tests/_helpers.ts";
import type { Payload } from "./types.ts";

Deno.test("enqueue() does not queue a duplicate dedupeKey and answers the first id", async () => {
  await using s = await setup();
  const first = await s.outbox.enqueue({ channel: "a", dedupeKey: "k1", payload: text("one") });
  const again = await s.outbox.enqueue({ channel: "a", dedupeKey: "k1", payload: text("two") });
  assert.deepEqual(again, { id: first.id, duplicate: true });
  assert.deepEqual(first.duplicate, false);
  assert.deepEqual((await s.outbox.counts()).queued, 1);
  assert.deepEqual((await s.outbox.get(first.id))?.payload, text("one"));
});

Deno.test("enqueue() lets a key through again once its dedupeWindowMs has passed", async () => {
  await using s = await setup();
  const input = { channel: "a", dedupeKey: "k", payload: text("x"), dedupeWindowMs: 60_000 };
  const first = await s.outbox.enqueue(input);
  s.clock.advance(59_999);
  assert.deepEqual(await s.outbox.enqueue(input), { id: first.id, duplicate: true });
  s.clock.advance(1);
  const second = await s.outbox.enqueue(input);
  assert.deepEqual(second.duplicate, false);
  assert.ok(second.id > first.id);
  assert.deepEqual((await s.outbox.counts()).queued, 2);
});

Deno.test("enqueue() hashes a dedupe key too long for a KV key and still dedupes by it", async () => {
  await using s = await setup();
  const dedupeKey = "x".repeat(5000);
  const first = await s.outbox.enqueue({ channel: "a", dedupeKey, payload: text("1") });
  const again = await s.outbox.enqueue({ channel: "a", dedupeKey, payload: text("2") });
  assert.deepEqual(again, { id: first.id, duplicate: true });
  assert.deepEqual((await s.outbox.get(first.id))?.dedupeKey, dedupeKey);
});

Deno.test("enqueue() rejects a relayed body over 60 KiB, naming its size", async () => {
  await using s = await setup();
  const payload: Payload = {
    type: "relay",
    post: { body: "é".repeat(40_000), contentType: "text/plain" },
  };
  await rejectsWith(
    () => s.outbox.enqueue({ channel: "a", dedupeKey: "big", payload }),
    RangeError,
    'Cannot queue a relayed post for channel "a": its body is 80000 bytes, more than the 61440 the outbox keeps',
  );
  assert.deepEqual((await s.outbox.counts()).queued, 0);
});

Deno.test("enqueue() rejects an unknown channel, naming the known ones", async () => {
  await using s = await setup();
  await rejectsWith(
    () => s.outbox.enqueue({ channel: "zz", dedupeKey: "k", payload: text("x") }),
    RangeError,
    'Cannot queue a message for channel "zz": no such channel (known: a, b)',
  );
});

Deno.test("enqueue() with state silenced records the message without sending or claiming", async () => {
  await using s = await setup();
  s.outbox.start();
  const silenced = await s.outbox.enqueue({
    channel: "a",
    dedupeKey: "k",
    payload: text("quiet"),
    state: "silenced",
    note: "silence 'maintenance'",
  });
  const real = await s.outbox.enqueue({ channel: "a", dedupeKey: "k", payload: text("loud") });
  assert.deepEqual(real.duplicate, false);
  await s.outbox.idle();
  assert.deepEqual(s.recorder.received, ["loud"]);
  const record = await s.outbox.get(silenced.id);
  assert.deepEqual(record?.state, "silenced");
  assert.deepEqual(record?.history, [{
    at: "2025-01-06T09:00:00.000Z",
    state: "silenced",
    note: "silence 'maintenance'",
  }]);
});

Deno.test("a 500 is retried after the backoff delay, then sent", async () => {
  await using s = await setup({
    answer: (_t, n) => n === 1 ? { status: 500, body: "oops" } : { status: 200, body: "fine" },
  });
  s.outbox.start();
  const { id } = await s.outbox.enqueue({ channel: "a", dedupeKey: "k", payload: text("hi") });
  await s.changes.nth({ id, state: "retrying" });
  const retrying = await s.outbox.get(id);
  assert.deepEqual(retrying?.nextAttemptAt, new Date(s.clock.now() + 1000).toISOString());
  assert.deepEqual(retrying?.providerStatus, 500);
  s.clock.advance(999);
  assert.deepEqual(s.recorder.count("hi"), 1);
  s.clock.advance(1);
  await s.changes.nth({ id, state: "sent" });
  const sent = await s.outbox.get(id);
  assert.deepEqual(sent?.attempts, 2);
  assert.deepEqual(sent?.providerStatus, 200);
  assert.deepEqual(sent?.providerAnswer, "fine");
  assert.deepEqual(sent?.nextAttemptAt, undefined);
  assert.deepEqual(sent?.history.map((e) => e.state), [
    "queued",
    "sending",
    "retrying",
    "sending",
    "sent",
  ]);
  assert.deepEqual(s.recorder.count("hi"), 2);
});

Deno.test("backoff grows by the multiplier and stops at maxDelayMs", async () => {
  await using s = await setup({
    answer: () => ({ status: 503 }),
    outbox: { retry: { minDelayMs: 100, maxDelayMs: 500, multiplier: 3, jitter: 0.2 } },
  });
  s.outbox.start();
  const { id } = await s.outbox.enqueue({ channel: "a", dedupeKey: "k", payload: text("hi") });
  const delays: number[] = [];
  for (let n = 1; n <= 4; n++) {
    await s.changes.nth({ id, state: "retrying" }, n);
    const record = await s.outbox.get(id);
    const delay = Date.parse(record!.nextAttemptAt!) - s.clock.now();
    delays.push(delay);
    s.clock.advance(delay);
  }
  assert.deepEqual(delays, [100, 300, 500, 500]);
});

Deno.test("a 429's Retry-After sets the next attempt", async () => {
  await using s = await setup({
    answer: (_t, n) => n === 1 ? { status: 429, headers: { "retry-after": "7" } } : { status: 200 },
  });
  s.outbox.start();
  const { id } = await s.outbox.enqueue({ channel: "a", dedupeKey: "k", payload: text("hi") });
  await s.changes.nth({ id, state: "retrying" });
  const record = await s.outbox.get(id);
  assert.deepEqual(record?.nextAttemptAt, new Date(s.clock.now() + 7000).toISOString());
  s.clock.advance(7000);
  await s.changes.nth({ id, state: "sent" });
});

Deno.test("a 400 is a permanent failure that keeps the provider's answer", async () => {
  await using s = await setup({ answer: () => ({ status: 400, body: "invalid_payload" }) });
  s.outbox.start();
  const { id } = await s.outbox.enqueue({ channel: "a", dedupeKey: "k", payload: text("hi") });
  await s.outbox.idle();
  const record = await s.outbox.get(id);
  assert.deepEqual(record?.state, "failed");
  assert.deepEqual(record?.providerStatus, 400);
  assert.deepEqual(record?.providerAnswer, "invalid_payload");
  assert.deepEqual(record?.history.at(-1)?.note, "HTTP 400: the hook answered 400");
  assert.deepEqual(s.recorder.count("hi"), 1);
  assert.deepEqual((await s.outbox.counts()).failed, 1);
});

Deno.test("a provider answer is cut to about 2 KiB", async () => {
  await using s = await setup({ answer: () => ({ status: 200, body: "y".repeat(10_000) }) });
  s.outbox.start();
  const { id } = await s.outbox.enqueue({ channel: "a", dedupeKey: "k", payload: text("hi") });
  await s.outbox.idle();
  assert.deepEqual((await s.outbox.get(id))?.providerAnswer?.length, 2048);
});

Deno.test("a message not sent within maxAgeMs is dead-lettered", async () => {
  await using s = await setup({ answer: () => ({ status: 500 }), policy: { maxAgeMs: 5000 } });
  s.outbox.start();
  const { id } = await s.outbox.enqueue({ channel: "a", dedupeKey: "k", payload: text("hi") });
  await s.changes.nth({ id, state: "retrying" });
  s.clock.advance(1000);
  await s.changes.nth({ id, state: "retrying" }, 2);
  s.clock.advance(60_000);
  await s.changes.nth({ id, state: "dead-lettered" });
  const record = await s.outbox.get(id);
  assert.deepEqual(record?.attempts, 2);
  assert.deepEqual(record?.history.at(-1)?.note, "not sent within 5s after 2 attempts");
  const counts = await s.outbox.counts();
  assert.deepEqual([counts["dead-lettered"], counts.queued, counts.retrying], [1, 0, 0]);
  assert.deepEqual((await s.outbox.list({ state: "dead-lettered" })).map((m) => m.id), [id]);
  await s.outbox.idle();
});

Deno.test("a retrying head holds back its channel but not another channel", async () => {
  await using s = await setup({
    answer: (t, n) => t === "a1" && n === 1 ? { status: 502 } : { status: 200 },
  });
  s.outbox.start();
  const a1 = await s.outbox.enqueue({ channel: "a", dedupeKey: "a1", payload: text("a1") });
  const a2 = await s.outbox.enqueue({ channel: "a", dedupeKey: "a2", payload: text("a2") });
  const b1 = await s.outbox.enqueue({ channel: "b", dedupeKey: "b1", payload: text("b1") });
  await s.changes.nth({ id: a1.id, state: "retrying" });
  await s.changes.nth({ id: b1.id, state: "sent" });
  assert.deepEqual((await s.outbox.get(a2.id))?.state, "queued");
  s.clock.advance(1000);
  await s.changes.nth({ id: a2.id, state: "sent" });
  assert.deepEqual(s.recorder.received.filter((t) => t.startsWith("a")), ["a1", "a1", "a2"]);
  assert.deepEqual((await s.outbox.get(a1.id))?.state, "sent");
});

Deno.test("a rate limit makes the excess wait for the window, dropping nothing", async () => {
  await using s = await setup({ policy: { rateLimit: { count: 2, perMs: 1000 } } });
  s.outbox.start();
  const ids = [];
  for (const t of ["m1", "m2", "m3"]) {
    ids.push((await s.outbox.enqueue({ channel: "a", dedupeKey: t, payload: text(t) })).id);
  }
  await s.changes.nth({ id: ids[1], state: "sent" });
  assert.deepEqual((await s.outbox.get(ids[2]))?.state, "queued");
  s.clock.advance(999);
  assert.deepEqual((await s.outbox.get(ids[2]))?.state, "queued");
  s.clock.advance(1);
  await s.changes.nth({ id: ids[2], state: "sent" });
  assert.deepEqual(s.recorder.received, ["m1", "m2", "m3"]);
});

Deno.test("history keeps the last 20 entries", async () => {
  await using s = await setup({ answer: () => ({ status: 500 }) });
  s.outbox.start();
  const { id } = await s.outbox.enqueue({ channel: "a", dedupeKey: "k", payload: text("hi") });
  for (let n = 1; n <= 12; n++) {
    await s.changes.nth({ id, state: "retrying" }, n);
    s.clock.advance(600_000);
  }
  await s.changes.nth({ id, state: "retrying" }, 13);
  const record = await s.outbox.get(id);
  assert.deepEqual(record?.attempts, 13);
  assert.deepEqual(record?.history.length, 20);
  assert.deepEqual(record?.history.at(-1)?.state, "retrying");
});

Deno.test("list() is newest first and filters by state, channel, since and limit", async () => {
  await using s = await setup();
  const a1 = await s.outbox.enqueue({ channel: "a", dedupeKey: "1", payload: text("1") });
  s.clock.advance(1000);
  const b1 = await s.outbox.enqueue({ channel: "b", dedupeKey: "2", payload: text("2") });
  const a2 = await s.outbox.enqueue({ channel: "a", dedupeKey: "3", payload: text("3") });
  const ids = (list: { id: string }[]) => list.map((m) => m.id);
  assert.deepEqual(ids(await s.outbox.list()), [a2.id, b1.id, a1.id]);
  assert.deepEqual(ids(await s.outbox.list({ channel: "a" })), [a2.id, a1.id]);
  assert.deepEqual(ids(await s.outbox.list({ limit: 1 })), [a2.id]);
  const since = new Date(s.clock.now()).toISOString();
  assert.deepEqual(ids(await s.outbox.list({ since })), [a2.id, b1.id]);
  assert.deepEqual(ids(await s.outbox.list({ state: "queued", channel: "b" })), [b1.id]);
  assert.deepEqual(await s.outbox.list({ state: "sent" }), []);
  await rejectsWith(
    () => s.outbox.list({ since: "yesterday" }),
    RangeError,
    'Invalid "since" for the outbox list: expected an ISO time, got "yesterday"',
  );
});

Deno.test("list() pages by before (the last id of a page) and leaves out messages from until on", async () => {
  await using s = await setup();
  const ids: string[] = [];
  for (let n = 1; n <= 5; n++) {
    ids.push(
      (await s.outbox.enqueue({ channel: "a", dedupeKey: `${n}`, payload: text(`${n}`) })).id,
    );
    s.clock.advance(1000);
  }
  const listed = (list: { id: string }[]) => list.map((m) => ids.indexOf(m.id) + 1);
  const first = await s.outbox.list({ limit: 2 });
  assert.deepEqual(listed(first), [5, 4]);
  assert.deepEqual(listed(await s.outbox.list({ limit: 2, before: first[1].id })), [3, 2]);
  const until = "2025-01-06T09:00:03Z";
  assert.deepEqual(listed(await s.outbox.list({ until })), [3, 2, 1]);
  const since = "2025-01-06T09:00:01Z";
  assert.deepEqual(listed(await s.outbox.list({ since, until, before: ids[2] })), [2]);
  await rejectsWith(
    () => s.outbox.list({ until: "tomorrow" }),
    RangeError,
    'Invalid "until" for the outbox list: expected an ISO time, got "tomorrow"',
  );
});

for (const onUncertain of ["skip", "resend"] as const) {
  Deno.test(`a message left in "sending" by a crash is ${onUncertain === "skip" ? "uncertain and not resent" : "resent"} with onUncertain ${onUncertain}`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "scriptmon-outbox-" });
    const path = join(dir, "kv.sqlite3");
    const before = await Deno.openKv(path);
    const crashed = new Outbox(before, { channels: new Map([["a", okChannel("a")]]) });
    const { id } = await crashed.enqueue({ channel: "a", dedupeKey: "k", payload: text("hi") });
    // What a crash after "sending" and before the answer leaves behind.
    const store = new OutboxStore(before);
    const queued = await store.record(id);
    await store.transition(queued!, {
      state: "sending",
      nowMs: Date.now(),
      patch: { attempts: 1 },
    });
    before.close();

    const kv = await Deno.openKv(path);
    const channel = okChannel("a");
    const outbox = new Outbox(kv, {
      channels: new Map([["a", channel]]),
      channelPolicy: () => ({ maxAgeMs: 86_400_000, onUncertain }),
    });
    outbox.start();
    await outbox.idle();
    const record = await outbox.get(id);
    await outbox.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
    if (onUncertain === "skip") {
      assert.deepEqual(record?.state, "uncertain");
      assert.deepEqual(channel.texts, []);
      assert.deepEqual(
        record?.history.at(-1)?.note,
        "found in sending at start: the last run stopped between the send and its answer; the provider may or may not have it, not sent again (onUncertain skip)",
      );
    } else {
      assert.deepEqual(record?.state, "sent");
      assert.deepEqual(record?.attempts, 2);
      assert.deepEqual(channel.texts, ["hi"]);
    }
  });
}

Deno.test("close() during a send that never answers leaves it uncertain; a new outbox does not resend it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-outbox-" });
  const path = join(dir, "kv.sqlite3");
  const first = await Deno.openKv(path);
  const hanging = hangingChannel("a");
  const outbox = new Outbox(first, { channels: new Map([["a", hanging]]) });
  outbox.start();
  const { id } = await outbox.enqueue({ channel: "a", dedupeKey: "k", payload: text("hi") });
  await hanging.called;
  await outbox.close({ graceMs: 0 });
  first.close();

  const kv = await Deno.openKv(path);
  const channel = okChannel("a");
  const again = new Outbox(kv, { channels: new Map([["a", channel]]) });
  again.start();
  await again.idle();
  const record = await again.get(id);
  await again.close();
  kv.close();
  await Deno.remove(dir, { recursive: true });
  assert.deepEqual(record?.state, "uncertain");
  assert.deepEqual(record?.attempts, 1);
  assert.deepEqual(hanging.calls, 1);
  assert.deepEqual(channel.texts, []);
});

Deno.test("two outboxes on one KV file enqueueing the same 200 keys at once make 200 messages", async () => {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-outbox-" });
  const path = join(dir, "kv.sqlite3");
  const kv1 = await Deno.openKv(path);
  const kv2 = await Deno.openKv(path);
  const channels = new Map([["a", okChannel("a")]]);
  const one = new Outbox(kv1, { channels });
  const two = new Outbox(kv2, { channels });
  const keys = Array.from({ length: 200 }, (_, i) => `key-${i}`);
  const enqueueAll = (outbox: Outbox) =>
    Promise.all(keys.map((k) => outbox.enqueue({ channel: "a", dedupeKey: k, payload: text(k) })));
  const [r1, r2] = await Promise.all([enqueueAll(one), enqueueAll(two)]);
  const counts = await one.counts();
  const all = await two.list({ limit: 1000 });
  kv1.close();
  kv2.close();
  await Deno.remove(dir, { recursive: true });
  assert.deepEqual(counts.queued, 200);
  assert.deepEqual(all.length, 200);
  assert.deepEqual(new Set(all.map((m) => m.dedupeKey)).size, 200);
  for (let i = 0; i < 200; i++) {
    assert.deepEqual(r1[i].id, r2[i].id);
    assert.ok(r1[i].duplicate !== r2[i].duplicate);
  }
});

Deno.test("a receiver down for two minutes gets every message afterwards, in order", async () => {
  const downUntil = { at: 0 };
  await using s = await setup({
    answer: () => (s.clock.now() < downUntil.at ? { status: 503, body: "down" } : { status: 200 }),
    outbox: { retry: { minDelayMs: 1000, maxDelayMs: 300_000, multiplier: 2, jitter: 0 } },
  });
  downUntil.at = s.clock.now() + 120_000;
  s.outbox.start();
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) {
    ids.push(
      (await s.outbox.enqueue({ channel: "a", dedupeKey: `m${i}`, payload: text(`m${i}`) })).id,
    );
  }
  // Only the head is tried while the receiver is down; follow its retries through the outage.
  for (let attempt = 1; attempt <= 20 && s.clock.now() < downUntil.at; attempt++) {
    await s.changes.nth({ id: ids[0], state: "retrying" }, attempt);
    const head = await s.outbox.get(ids[0]);
    s.clock.advance(Date.parse(head!.nextAttemptAt!) - s.clock.now());
  }
  await s.changes.nth({ state: "sent" }, 20);
  // Arrival order, each text once (the head arrived once per attempt).
  assert.deepEqual([...new Set(s.recorder.received)], ids.map((_, i) => `m${i}`));
  for (let i = 1; i < 20; i++) assert.equal(s.recorder.count(`m${i}`), 1);
  assert.ok((await s.outbox.get(ids[0]))!.attempts >= 8, "the head kept trying through the outage");
});

Deno.test("an outbox whose fence refuses (a deposed leader) sends nothing; once it passes, sends once", async () => {
  const kv = await Deno.openKv(":memory:");
  const channel = okChannel("a");
  const lease = ["lease"];
  let held = (await kv.set(lease, "us")).versionstamp;
  let attempts = 0;
  const outbox = new Outbox(kv, {
    channels: new Map([["a", channel]]),
    fence: (op) => {
      attempts++;
      return op.check({ key: lease, versionstamp: held });
    },
  });
  try {
    await kv.set(lease, "someone else"); // another collector took the lease
    await outbox.enqueue({ channel: "a", dedupeKey: "k", payload: text("hello") });
    outbox.start();
    await until("three moves to sending tried", () => attempts >= 3, 10_000); // each refused
    assert.deepEqual(channel.texts, []);
    assert.equal((await outbox.list())[0].state, "queued");
    held = (await kv.get(lease)).versionstamp!; // the lease is ours again
    await outbox.idle();
    assert.deepEqual(channel.texts, ["hello"]);
    assert.equal((await outbox.list())[0].state, "sent");
  } finally {
    await outbox.close();
    kv.close();
  }
});
