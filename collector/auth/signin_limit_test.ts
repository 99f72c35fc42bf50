import assert from "node:assert/strict";
import { join } from "node:path";
import { lockoutMessage, SignInLimiter } from "./signin_limit.ts";

const MIN = 60_000;
const T0 = Date.parse("2026-12-01T11:00:00Z");

/** One sign-in with a wrong password, as the login route makes it: counted, then failed. */
async function wrong(limiter: SignInLimiter, user: string, addr: string | null, now: number) {
  return (await limiter.attempt(user, addr, now)) ?? (await limiter.failed(user, addr, now));
}

Deno.test("attempts sent at once cannot outrun the count: past the limit they are refused unchecked", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const limiter = new SignInLimiter(kv);
    const verdicts = await Promise.all(
      Array.from({ length: 30 }, (_, i) => limiter.attempt("ann", null, T0 + i)),
    );
    assert.equal(verdicts.filter((v) => v === null).length, 5, "only the first five are checked");
    assert.equal(await limiter.locked("ann", null, T0 + 60_000) !== null, true, "then locked");
  } finally {
    kv.close();
  }
});

Deno.test("SignInLimiter keeps a lock in KV: a new limiter over the reopened file still refuses", async () => {
  const dir = await Deno.makeTempDir({ prefix: "signin-limit-" });
  try {
    const path = join(dir, "kv.sqlite3");
    let kv = await Deno.openKv(path);
    let limiter = new SignInLimiter(kv);
    for (let i = 0; i < 4; i++) assert.equal(await wrong(limiter, "ann", null, T0 + i), null);
    assert.deepEqual(await wrong(limiter, "ann", null, T0 + 4), {
      scope: "user",
      retryAfterMs: 15 * MIN,
    });
    kv.close();
    kv = await Deno.openKv(path);
    try {
      limiter = new SignInLimiter(kv);
      assert.deepEqual(await limiter.locked("ann", "10.0.0.9", T0 + 5 * MIN), {
        scope: "user",
        retryAfterMs: 10 * MIN + 4,
      });
      const stored = await kv.get<{ lockedUntil: number }>(["signin_fail", "user", "ann"]);
      assert.equal(stored.value?.lockedUntil, T0 + 4 + 15 * MIN);
      assert.equal(await limiter.locked("ann", null, T0 + 4 + 15 * MIN), null, "the lock ended");
    } finally {
      kv.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SignInLimiter counts failures within the window only", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const limiter = new SignInLimiter(kv);
    for (let i = 0; i < 4; i++) await wrong(limiter, "bob", null, T0);
    // The window of the first four has passed: this one starts a new count.
    assert.equal(await wrong(limiter, "bob", null, T0 + 15 * MIN), null);
    assert.equal(await limiter.locked("bob", null, T0 + 15 * MIN), null);
  } finally {
    kv.close();
  }
});

Deno.test("lockoutMessage() names the limit and the minutes left, rounded up", () => {
  assert.equal(
    lockoutMessage({ scope: "user", retryAfterMs: 14 * MIN + 1 }),
    "Too many failed sign-ins for this user; try again in 15 min.",
  );
  assert.equal(
    lockoutMessage({ scope: "addr", retryAfterMs: 1000 }),
    "Too many failed sign-ins from this address; try again in 1 min.",
  );
});

Deno.test("successful sign-ins from one address never lock it", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const limiter = new SignInLimiter(kv);
    for (let i = 0; i < 30; i++) {
      assert.equal(await limiter.attempt(`user${i}`, "10.0.0.9", T0 + i), null, `sign-in ${i}`);
      await limiter.succeeded(`user${i}`, "10.0.0.9");
    }
  } finally {
    kv.close();
  }
});
