import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../tests/_helpers.ts";
import { ConfigWatcher } from "./config_watcher.ts";

/** A watcher whose callbacks resolve promises, one per call. */
function watch(path: string) {
  const calls: PromiseWithResolvers<void>[] = [Promise.withResolvers()];
  const watcher = new ConfigWatcher(path, () => {
    calls.at(-1)!.resolve();
    calls.push(Promise.withResolvers());
  }, { debounceMs: 20 });
  return { watcher, next: () => calls.at(-1)!.promise };
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
    await changed;
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
    await reloaded;
  } finally {
    watcher.close();
  }
});
