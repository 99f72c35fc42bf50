import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../../tests/_helpers.ts";
import { watchFile } from "./watch_file.ts";

Deno.test("watchFile() sees a file created, then touched, and nothing of its neighbours", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "rates.heartbeat");
  let changes = 0;
  let notify = () => {};
  const stop = watchFile(file, () => {
    changes++;
    notify();
  });
  try {
    const next = () => new Promise<void>((resolve) => notify = resolve);
    let seen = next();
    await Deno.writeTextFile(file, "");
    await seen;
    const created = changes;
    seen = next();
    await Deno.utime(file, new Date(), new Date());
    await seen;
    assert.ok(changes > created, "the touch was seen");
    const before = changes;
    await Deno.writeTextFile(join(dir.path, "other.txt"), "x");
    // A change to the watched file after the neighbour's: only that one is counted.
    seen = next();
    await Deno.utime(file, new Date(), new Date());
    await seen;
    assert.equal(changes, before + 1);
  } finally {
    stop();
  }
});

Deno.test("watchFile() throws for a folder that does not exist (the caller polls instead)", () => {
  assert.throws(() => watchFile("/nonexistent-scriptmon-dir/x.heartbeat", () => {}));
});
