/**
 * Sign-in lockout through `POST /login`: per user name and per address,
 * with a clear message and a 429, on the audit trail as refused.
 */
import assert from "node:assert/strict";
import type { AuditEntry } from "../collector/audit/mod.ts";
import { type AccessFixture, withAccess } from "./_access.ts";

const MIN = 60_000;

async function signIn(
  f: AccessFixture,
  username: string,
  password: string,
  address = "10.0.0.9",
): Promise<{ status: number; text: string; retryAfter: string | null }> {
  const res = await f.app.request("/login", {
    method: "POST",
    body: new URLSearchParams({ username, password }),
  }, { remoteAddr: { hostname: address } });
  return { status: res.status, text: await res.text(), retryAfter: res.headers.get("retry-after") };
}

Deno.test("five failed sign-ins lock the user for 15 min with a 429 that says so; the right password waits too", async () => {
  await withAccess(async (f) => {
    for (let i = 1; i <= 4; i++) {
      const failed = await signIn(f, "viewer", `wrong-${i}`);
      assert.equal(failed.status, 401, `failure ${i}`);
      assert.match(failed.text, /Wrong username or password\./);
    }
    const fifth = await signIn(f, "viewer", "wrong-5");
    assert.deepEqual([fifth.status, fifth.retryAfter], [429, "900"]);
    assert.match(fifth.text, /Too many failed sign-ins for this user; try again in 15 min\./);
    f.setNow(f.now() + 60_000);
    const right = await signIn(f, "viewer", "pw-viewer", "10.0.0.10");
    assert.equal(right.status, 429, "locked even with the right password, from anywhere");
    assert.match(right.text, /Too many failed sign-ins for this user; try again in 14 min\./);
    f.setNow(f.now() + 14 * MIN);
    assert.equal((await signIn(f, "viewer", "pw-viewer")).status, 303, "the lock has ended");
  });
});

Deno.test("a lockout is on the audit trail as a refused sign-in with its status", async () => {
  await withAccess(async (f) => {
    for (let i = 0; i < 5; i++) await signIn(f, "operator", "wrong");
    await signIn(f, "operator", "pw-operator");
    const entries: AuditEntry[] = await f.audit.list({ actor: "user:operator", limit: 6 });
    assert.deepEqual(
      entries.map((e) => [e.action, e.target, e.result, e.detail.status, e.address]),
      [
        ["signin.failed", "operator", "refused", 429, "10.0.0.9"],
        ["signin.failed", "operator", "refused", 429, "10.0.0.9"],
        ...Array(4).fill(["signin.failed", "operator", "refused", 401, "10.0.0.9"]),
      ],
    );
    assert.ok(
      entries.every((e) => !JSON.stringify(e).includes("pw-operator")),
      "no password on the trail",
    );
  });
});

Deno.test("a successful sign-in resets the user's count of failures", async () => {
  await withAccess(async (f) => {
    for (let i = 0; i < 4; i++) assert.equal((await signIn(f, "admin", "wrong")).status, 401);
    assert.equal((await signIn(f, "admin", "pw-admin")).status, 303);
    for (let i = 0; i < 4; i++) assert.equal((await signIn(f, "admin", "wrong")).status, 401);
  });
});

Deno.test("an address is locked after its limit across user names, known or not; another address is not", async () => {
  await withAccess(async (f) => {
    assert.equal((await signIn(f, "nobody-1", "x", "10.0.0.66")).status, 401);
    assert.equal((await signIn(f, "viewer", "x", "10.0.0.66")).status, 401);
    const third = await signIn(f, "nobody-2", "x", "10.0.0.66");
    assert.equal(third.status, 429);
    assert.match(third.text, /Too many failed sign-ins from this address; try again in 10 min\./);
    assert.equal((await signIn(f, "viewer", "pw-viewer", "10.0.0.66")).status, 429);
    assert.equal((await signIn(f, "viewer", "pw-viewer", "10.0.0.67")).status, 303);
  }, { signInLimits: { addr: { max: 3, windowMs: 10 * MIN, lockMs: 10 * MIN } } });
});

Deno.test("failures for a name nobody has lock it the same way (a lock does not tell who exists)", async () => {
  await withAccess(async (f) => {
    const answers: number[] = [];
    for (let i = 0; i < 5; i++) answers.push((await signIn(f, "ghost", "x")).status);
    assert.deepEqual(answers, [401, 401, 401, 401, 429]);
  });
});
