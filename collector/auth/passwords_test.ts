import assert from "node:assert/strict";
import { hashPassword, PBKDF2_ITERATIONS, verifyPassword } from "./passwords.ts";

Deno.test("hashPassword() uses PBKDF2-SHA256 at 600,000 iterations with a fresh 16-byte salt", async () => {
  const [a, b] = [await hashPassword("hunter2"), await hashPassword("hunter2")];
  assert.equal(a.algorithm, "pbkdf2-sha256");
  assert.equal(a.iterations, PBKDF2_ITERATIONS);
  assert.equal(PBKDF2_ITERATIONS, 600_000);
  assert.equal(atob(a.salt).length, 16);
  assert.equal(atob(a.hash).length, 32);
  assert.notEqual(a.salt, b.salt);
  assert.notEqual(a.hash, b.hash);
});

Deno.test("verifyPassword() accepts the password and refuses any other, with the stored iterations", async () => {
  const stored = await hashPassword("correct horse", { iterations: 1000 });
  assert.equal(await verifyPassword("correct horse", stored), true);
  assert.equal(await verifyPassword("correct hors", stored), false);
  assert.equal(await verifyPassword("", stored), false);
  assert.equal(await verifyPassword("correct horse", { ...stored, iterations: 1001 }), false);
});
