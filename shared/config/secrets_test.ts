import assert from "node:assert/strict";
import {
  decryptSecret,
  encryptSecret,
  generateKey,
  isEncrypted,
  needsKey,
  parseKey,
  resolveSecretKey,
  SecretError,
} from "./secrets.ts";
import { clearSecrets, redact, registerSecret } from "../redact.ts";

const key = parseKey(generateKey(), "test");

Deno.test("an encrypted value decrypts to the same text, and never looks the same twice", () => {
  const url = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
  const a = encryptSecret(url, key);
  const b = encryptSecret(url, key);
  assert.ok(isEncrypted(a));
  assert.notEqual(a, b, "a fresh IV each time");
  assert.ok(!a.includes("hooks.slack.com"));
  assert.equal(decryptSecret(a, key), url);
  assert.equal(decryptSecret(encryptSecret("ünïcødé ✓", key), key), "ünïcødé ✓");
});

Deno.test("a wrong key, a changed byte or a cut value is refused, never decrypted to garbage", () => {
  const value = encryptSecret("hunter2-hunter2", key);
  const other = parseKey(generateKey(), "other");
  assert.throws(() => decryptSecret(value, other), SecretError);
  const flipped = value.slice(0, -2) + (value.at(-2) === "A" ? "B" : "A") + value.at(-1);
  assert.throws(() => decryptSecret(flipped, key), /made with another key, or it was changed/);
  assert.throws(() => decryptSecret("enc:v1:abc", key), /cut short/);
});

Deno.test("parseKey() names where a bad key came from", () => {
  assert.throws(
    () => parseKey("too-short", "SCRIPTMON_SECRET_KEY"),
    /SCRIPTMON_SECRET_KEY: expected a 32-byte key/,
  );
  assert.equal(parseKey(generateKey().replaceAll("+", "-").replaceAll("/", "_"), "x").length, 32);
});

Deno.test("the key comes from the variable, else from a key file readable only by its user", async () => {
  const text = generateKey();
  const files: Record<string, { text: string; mode: number }> = {
    "/k/ok": { text: `${text}\n`, mode: 0o100600 },
    "/k/open": { text, mode: 0o100644 },
  };
  const source = (env: Record<string, string>) => ({
    env: (name: string) => env[name],
    readFile: (path: string) => {
      const file = files[path];
      return file ? Promise.resolve(file.text) : Promise.reject(new Error("No such file"));
    },
    fileMode: (path: string) => Promise.resolve(files[path]?.mode ?? null),
  });
  assert.equal(await resolveSecretKey(source({})), null);
  assert.deepEqual(
    await resolveSecretKey(source({ SCRIPTMON_SECRET_KEY: text })),
    parseKey(text, ""),
  );
  assert.deepEqual(
    await resolveSecretKey(source({ SCRIPTMON_SECRET_KEY_FILE: "/k/ok" })),
    parseKey(text, ""),
  );
  await assert.rejects(
    resolveSecretKey(source({ SCRIPTMON_SECRET_KEY_FILE: "/k/open" })),
    /may be read by others \(mode 644\); chmod 600 it/,
  );
  await assert.rejects(
    resolveSecretKey(source({ SCRIPTMON_SECRET_KEY_FILE: "/k/none" })),
    /cannot read the key file "\/k\/none"/,
  );
});

Deno.test("redact() hides every registered secret, also JSON- and URL-escaped", () => {
  clearSecrets();
  const secret = 'p@ss "word"/with&stuff';
  registerSecret(secret);
  registerSecret("short");
  assert.equal(redact(`login with ${secret} now`), "login with [redacted] now");
  assert.equal(redact(JSON.stringify({ password: secret })), '{"password":"[redacted]"}');
  assert.equal(redact(`?p=${encodeURIComponent(secret)}`), "?p=[redacted]");
  assert.equal(redact("a short word"), "a short word", "short values are not secrets");
  clearSecrets();
});

Deno.test("a config needs the key for an enc:v1: value in its text or in a variable it may use", () => {
  assert.equal(needsKey('url = "https://x"', {}), false);
  assert.equal(needsKey('url = "enc:v1:abc"', {}), true);
  assert.equal(needsKey('url = "${OPS}"', { OPS: "enc:v1:abc" }), true);
  assert.equal(needsKey('url = "${OPS:-x}"', { OPS: "enc:v1:abc" }), true);
  assert.equal(needsKey('url = "https://x"', { OTHER: "enc:v1:abc" }), false, "not named");
});

Deno.test("the key itself is registered as a secret once loaded", async () => {
  clearSecrets();
  const text = generateKey();
  await resolveSecretKey({
    env: (name) => (name === "SCRIPTMON_SECRET_KEY" ? text : undefined),
    readFile: () => Promise.reject(new Error("unused")),
    fileMode: () => Promise.resolve(null),
  });
  assert.equal(redact(`SCRIPTMON_SECRET_KEY=${text}`), "SCRIPTMON_SECRET_KEY=[redacted]");
  clearSecrets();
});
