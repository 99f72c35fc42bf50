import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../../tests/_helpers.ts";
import { ConfigWatcher } from "./watcher.ts";

/** A watcher counting its callbacks; `next()` resolves with the count at the next one. */
function watch(path: string) {
  let count = 0;
  let waiting: PromiseWithResolvers<number> = Promise.withResolvers();
  const watcher = new ConfigWatcher(path, () => {
    waiting.resolve(++count);
    waiting = Promise.withResolvers();
  }, { debounceMs: 20 });
  const next = () => {
    const { promise } = waiting;
    let timer: ReturnType<typeof setTimeout>;
    return Promise.race([
      promise.finally(() => clearTimeout(timer)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no reload within 10 s")), 10_000);
      }),
    ]);
  };
  return { watcher, next };
}

Deno.test("ConfigWatcher calls back when the file is replaced with new content", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "scriptmon.toml");
  await Deno.writeTextFile(path, "a = 1\n");
  const { watcher, next } = watch(path);
  try {
    await watcher.ready;
    const changed = next();
    // Editors save by writing a new file and renaming it over the old one.
    await Deno.writeTextFile(`${path}.tmp`, "a = 2\n");
    await Deno.rename(`${path}.tmp`, path);
    assert.equal(await changed, 1);
  } finally {
    watcher.close();
  }
});

Deno.test("ConfigWatcher calls back on SIGHUP even when the file did not change", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "scriptmon.toml");
  await Deno.writeTextFile(path, "a = 1\n");
  const { watcher, next } = watch(path);
  try {
    const reloaded = next();
    Deno.kill(Deno.pid, "SIGHUP");
    assert.equal(await reloaded, 1);
  } finally {
    watcher.close();
  }
});
