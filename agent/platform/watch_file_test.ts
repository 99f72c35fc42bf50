import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../../tests/_helpers.ts";
import { watchFile } from "./watch_file.ts";

/** Watches `file`; `next()` resolves at the next change seen. */
function watching(file: string) {
  let changes = 0;
  let notify = () => {};
  const stop = watchFile(file, () => {
    changes++;
    notify();
  });
  return {
    get changes() {
      return changes;
    },
    next: () => new Promise<void>((resolve) => notify = resolve),
    stop,
  };
}

Deno.test("watchFile() sees a file created, then touched", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "rates.heartbeat");
  const watch = watching(file);
  try {
    let seen = watch.next();
    await Deno.writeTextFile(file, "");
    await seen;
    const created = watch.changes;
    seen = watch.next();
    await Deno.utime(file, new Date(), new Date());
    await seen;
    assert.ok(watch.changes > created, "the touch was seen");
  } finally {
    watch.stop();
  }
});

Deno.test("watchFile() says nothing of the file's neighbours", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "rates.heartbeat");
  await Deno.writeTextFile(file, "");
  // A watch started after the file was made: no event of its creation can arrive late.
  const watch = watching(file);
  try {
    let touched = false;
    const seenBeforeTouch: boolean[] = [];
    const seen = watch.next().then(() => seenBeforeTouch.push(!touched));
    await Deno.writeTextFile(join(dir.path, "other.txt"), "x");
    await Deno.writeTextFile(join(dir.path, "rates.heartbeat.tmp"), "x");
    touched = true;
    await Deno.utime(file, new Date(), new Date());
    await seen;
    assert.deepEqual(seenBeforeTouch, [false], "the first change seen is the file's own");
  } finally {
    watch.stop();
  }
});

Deno.test("watchFile() throws for a folder that does not exist (the caller polls instead)", () => {
  assert.throws(() => watchFile("/nonexistent-scriptmon-dir/x.heartbeat", () => {}));
});
