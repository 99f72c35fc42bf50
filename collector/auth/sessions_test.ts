import assert from "node:assert/strict";
import { csrfMatches, Sessions } from "./sessions.ts";

async function withSessions(fn: (sessions: Sessions, kv: Deno.Kv) => Promise<void>) {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(new Sessions(kv, { idleMs: 60_000 * 10, maxAgeMs: 60_000 * 60 }), kv);
  } finally {
    kv.close();
  }
}

Deno.test("a session id is stored only as its hash", () =>
  withSessions(async (sessions, kv) => {
    const { id } = await sessions.create("alice", 0);
    for await (const entry of kv.list({ prefix: [] })) {
      assert.ok(!JSON.stringify(entry.key).includes(id), JSON.stringify(entry.key));
      assert.ok(!JSON.stringify(entry.value).includes(id));
    }
    assert.equal((await sessions.get(id, 1000))?.record.user, "alice");
  }));

Deno.test("a session ends after the idle timeout, and use keeps it alive up to the maximum age", () =>
  withSessions(async (sessions) => {
    const idle = await sessions.create("alice", 0);
    assert.notEqual(await sessions.get(idle.id, 9 * 60_000), null);
    assert.equal(await sessions.get(idle.id, 19 * 60_000 + 1), null, "idle 10 min after last use");
    const busy = await sessions.create("bob", 0);
    for (let minute = 9; minute < 60; minute += 9) {
      assert.notEqual(await sessions.get(busy.id, minute * 60_000), null, `minute ${minute}`);
    }
    assert.equal(await sessions.get(busy.id, 60 * 60_000), null, "past the maximum age");
  }));

Deno.test("revoke() ends one session, revokeUser() all of a user's", () =>
  withSessions(async (sessions) => {
    const a = await sessions.create("alice", 0);
    const b = await sessions.create("alice", 0);
    const c = await sessions.create("carol", 0);
    await sessions.revoke((await sessions.get(a.id, 1))!.hash);
    assert.equal(await sessions.get(a.id, 2), null);
    assert.notEqual(await sessions.get(b.id, 2), null);
    assert.equal(await sessions.revokeUser("alice"), 1);
    assert.equal(await sessions.get(b.id, 3), null);
    assert.notEqual(await sessions.get(c.id, 3), null);
  }));

Deno.test("csrfMatches() wants the session's own token", () =>
  withSessions(async (sessions) => {
    const { record } = await sessions.create("alice", 0);
    const other = (await sessions.create("alice", 0)).record;
    assert.equal(csrfMatches(record, record.csrf), true);
    assert.equal(csrfMatches(record, other.csrf), false);
    assert.equal(csrfMatches(record, undefined), false);
    assert.equal(csrfMatches(record, ""), false);
  }));
