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

Deno.test("watchFile() of two files in one folder: each hears its own, and one stops alone", async () => {
  await using dir = await tempDir();
  const a = join(dir.path, "a.heartbeat");
  const b = join(dir.path, "b.heartbeat");
  await Deno.writeTextFile(a, "");
  await Deno.writeTextFile(b, "");
  const watchA = watching(a);
  const watchB = watching(b);
  try {
    const seenB = watchB.next();
    await Deno.utime(b, new Date(), new Date());
    await seenB;
    assert.equal(watchA.changes, 0, "a heard nothing of b");
    watchB.stop();
    const seenA = watchA.next();
    await Deno.utime(a, new Date(), new Date());
    await seenA;
    assert.ok(watchA.changes > 0, "a still hears its own after b stopped");
  } finally {
    watchA.stop();
    watchB.stop();
  }
  // Both stopped: the folder's watcher is closed (the test's resource check would fail if not),
  // and a new watch of the folder works.
  const again = watching(a);
  try {
    const seen = again.next();
    await Deno.utime(a, new Date(), new Date());
    await seen;
  } finally {
    again.stop();
  }
});
