import assert from "node:assert/strict";
import { validateToken } from "./validate.ts";
import { TokenServer } from "./_testing.ts";
import type { ResolvedHttpValidate } from "./types.ts";

function http(url: string, overrides: Partial<ResolvedHttpValidate> = {}): ResolvedHttpValidate {
  return {
    kind: "http",
    url,
    method: "GET",
    header: "authorization",
    prefix: "Bearer ",
    status: 200,
    intervalMs: 60_000,
    timeoutMs: 5000,
    ...overrides,
  };
}

Deno.test("an HTTP validation sends the token in the header or the cookie and checks the status", async () => {
  await using server = new TokenServer();
  server.accepted.add("good-token");
  assert.deepEqual(await validateToken(http(server.url), "good-token"), {
    ok: true,
    reason: "HTTP 200",
  });
  assert.deepEqual(await validateToken(http(server.url), "stale-token"), {
    ok: false,
    reason: "HTTP 401 (expected 200)",
  });
  const cookie = http(server.url, { header: undefined, cookie: "session", prefix: "" });
  assert.equal((await validateToken(cookie, "good-token")).ok, true);
  assert.deepEqual(server.seen, ["good-token", "stale-token", "good-token"]);
  // A server that answers 401 for a good token is checked with status = 401 as "good".
  assert.equal((await validateToken(http(server.url, { status: 401 }), "stale-token")).ok, true);
});

Deno.test("an exec validation gets the token in SCRIPTMON_TOKEN and passes on exit 0", async () => {
  const check = {
    kind: "exec" as const,
    command: [
      Deno.execPath(),
      "eval",
      "Deno.exit(Deno.env.get('SCRIPTMON_TOKEN') === 'good-token' ? 0 : 4)",
    ],
    cwd: Deno.cwd(),
    intervalMs: 60_000,
    timeoutMs: 20_000,
  };
  assert.deepEqual(await validateToken(check, "good-token"), { ok: true, reason: "exit code 0" });
  assert.deepEqual(await validateToken(check, "other-token"), {
    ok: false,
    reason: "exit code 4",
  });
});

Deno.test("a validation that cannot connect says so, and gives no verdict on the token", async () => {
  const server = new TokenServer();
  const url = server.url;
  await server[Symbol.asyncDispose]();
  assert.deepEqual(await validateToken(http(url), "good-token"), {
    ok: false,
    unavailable: true,
    reason: "connection refused",
  });
});

Deno.test("a value no header can carry is refused without quoting it", async () => {
  await using server = new TokenServer();
  const result = await validateToken(http(server.url), "line one\nSECRET-VALUE");
  assert.equal(result.ok, false);
  assert.equal(result.unavailable, undefined);
  assert.match(result.reason, /cannot be sent in a header/);
  assert.ok(!result.reason.includes("SECRET-VALUE"));
});
