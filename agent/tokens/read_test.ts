import assert from "node:assert/strict";
import { join } from "node:path";
import { jwtTimes, parseCookieFile, parseInstant } from "./_formats.ts";
import { readToken, TokenReadError } from "./read.ts";
import { cookieFile, signJwt, testToken } from "./_testing.ts";

const EXP = Date.parse("2026-12-01T12:00:00Z");

Deno.test("jwtTimes() reads exp and iat of a signed JWT", async () => {
  const jwt = await signJwt({ sub: "me", iat: EXP / 1000 - 3600, exp: EXP / 1000 });
  assert.deepEqual(jwtTimes(jwt), { expiresAt: EXP, issuedAt: EXP - 3600_000 });
});

Deno.test("jwtTimes() refuses text that is not a JWT, without quoting it", () => {
  assert.throws(() => jwtTimes("hunter2-secret"), {
    name: "SyntaxError",
    message: "expected a JWT (three base64url parts separated by dots)",
  });
});

Deno.test("parseCookieFile() reads #HttpOnly_ lines and session cookies, skips comments", () => {
  const text = cookieFile([
    { name: "session", value: "abc", expiresAt: EXP, httpOnly: true },
    { name: "pref", value: "x", expiresAt: null },
  ]);
  const cookies = parseCookieFile(text);
  assert.deepEqual(cookies.map((c) => [c.name, c.value, c.expiresAt]), [
    ["session", "abc", EXP],
    ["pref", "x", null],
  ]);
});

Deno.test("parseInstant() takes epoch seconds, epoch ms and ISO; never quotes a string", () => {
  assert.equal(parseInstant(EXP / 1000), EXP);
  assert.equal(parseInstant(EXP), EXP);
  assert.equal(parseInstant(" 2026-12-01T12:00:00Z\n"), EXP);
  assert.throws(() => parseInstant("s3cr3t-value"), {
    name: "SyntaxError",
    message:
      "expected a time as epoch seconds, epoch milliseconds or ISO 8601, got a string of 12 characters",
  });
});

Deno.test("readToken() reads each file format's value and expiry", async () => {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-token-" });
  try {
    const jwt = await signJwt({ exp: EXP / 1000 });
    await Deno.writeTextFile(join(dir, "t.jwt"), `${jwt}\n`);
    const fromJwt = await readToken(testToken("a", { format: "jwt", file: join(dir, "t.jwt") }));
    assert.equal(fromJwt.value, jwt);
    assert.equal(fromJwt.expiresAt, EXP);

    await Deno.writeTextFile(
      join(dir, "cookies.txt"),
      cookieFile([{ name: "session", value: "cookie-value", expiresAt: EXP }]),
    );
    const fromCookie = await readToken(
      testToken("b", { format: "cookie", file: join(dir, "cookies.txt"), cookie: "session" }),
    );
    assert.deepEqual([fromCookie.value, fromCookie.expiresAt], ["cookie-value", EXP]);

    await Deno.writeTextFile(
      join(dir, "t.json"),
      JSON.stringify({ auth: { token: "json-value", issued: "2026-12-01T11:00:00Z" } }),
    );
    const fromJson = await readToken(testToken("c", {
      format: "json",
      file: join(dir, "t.json"),
      issuedField: "auth.issued",
      valueField: "auth.token",
      lifetimeMs: 3600_000,
    }));
    assert.deepEqual([fromJson.value, fromJson.expiresAt], ["json-value", EXP]);

    const mtimeFile = join(dir, "plain.token");
    await Deno.writeTextFile(mtimeFile, "plain-value\n");
    const mtime = (await Deno.stat(mtimeFile)).mtime!.getTime();
    const fromMtime = await readToken(
      testToken("d", { format: "mtime", file: mtimeFile, lifetimeMs: 60_000 }),
    );
    assert.deepEqual([fromMtime.value, fromMtime.expiresAt], ["plain-value", mtime + 60_000]);

    const fromExec = await readToken(testToken("e", {
      format: "exec",
      command: [Deno.execPath(), "eval", "console.log('2026-12-01T12:00:00Z')"],
    }));
    assert.deepEqual([fromExec.value, fromExec.expiresAt], [null, EXP]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readToken() names the file and the missing cookie, not the value", async () => {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-token-" });
  try {
    const file = join(dir, "cookies.txt");
    await Deno.writeTextFile(file, cookieFile([{ name: "other", value: "zzz", expiresAt: EXP }]));
    await assert.rejects(
      readToken(testToken("midway", { format: "cookie", file, cookie: "session" })),
      {
        name: "TokenReadError",
        message: `Token "midway": file ${file}: no cookie named "session"`,
      },
    );
    await assert.rejects(
      readToken(testToken("midway", { format: "jwt", file: join(dir, "none") })),
      TokenReadError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
