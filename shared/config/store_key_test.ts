import assert from "node:assert/strict";
import { join } from "node:path";
import { ensureKeyFile } from "./store_key.ts";
import { SecretError } from "./secrets.ts";

Deno.test("ensureKeyFile() makes a key readable only by its user, then reads the same one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "store.key");
    const first = await ensureKeyFile(path, Deno);
    assert.equal(first.length, 32);
    assert.deepEqual(await ensureKeyFile(path, Deno), first);
    if (Deno.build.os !== "windows") assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ensureKeyFile() refuses a file that holds no key, naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "store.key");
    await Deno.writeTextFile(path, "not a key\n");
    await assert.rejects(() => ensureKeyFile(path, Deno), (error: Error) => {
      assert.ok(error instanceof SecretError);
      assert.match(error.message, /store\.key/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
