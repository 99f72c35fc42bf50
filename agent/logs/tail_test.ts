import assert from "node:assert/strict";
import { join } from "node:path";
import { followLog, readLastLines, sameFile } from "./tail.ts";
import { listLogFiles, RotatingLogWriter } from "./writer.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon_log_tail_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function textOf(logLine: string): string {
  return logLine.split(" ").slice(2).join(" ");
}

/** Follows `path`, resolving `ready` once started and `collected` once `count` lines arrived. */
function startFollowing(path: string, count: number) {
  const controller = new AbortController();
  const lines: string[] = [];
  const ready = Promise.withResolvers<void>();
  const collected = Promise.withResolvers<void>();
  const waiting: { n: number; resolve: () => void }[] = [];
  const done = followLog(path, {
    signal: controller.signal,
    pollMs: 5,
    onReady: ready.resolve,
    onLines: (batch) => {
      lines.push(...batch);
      for (const wait of waiting) if (lines.length >= wait.n) wait.resolve();
      if (lines.length >= count) collected.resolve();
    },
  });
  return {
    controller,
    lines,
    ready: ready.promise,
    collected: guard(collected.promise, lines),
    /** Resolves once `n` lines arrived. */
    atLeast(n: number): Promise<void> {
      const arrived = Promise.withResolvers<void>();
      if (lines.length >= n) arrived.resolve();
      else waiting.push({ n, resolve: arrived.resolve });
      return guard(arrived.promise, lines);
    },
    done,
  };
}

/** Fails instead of hanging when lines go missing (a guard, not a synchronisation). */
async function guard(collected: Promise<void>, lines: string[]): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`only ${lines.length} lines arrived`)), 10_000);
  });
  try {
    await Promise.race([collected, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("readLastLines() returns the last n lines of the current file", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "a.log");
    await Deno.writeTextFile(path, "one\ntwo\r\nthree\nfour\n");
    assert.deepEqual(await readLastLines(path, 2), ["three", "four"]);
    assert.deepEqual(await readLastLines(path, 10), ["one", "two", "three", "four"]);
    assert.deepEqual(await readLastLines(path, 0), []);
  });
});

Deno.test("readLastLines() leaves out a partial last line of the current file", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "a.log");
    await Deno.writeTextFile(path, "one\ntwo\nthr");
    assert.deepEqual(await readLastLines(path, 2), ["one", "two"]);
  });
});

Deno.test("readLastLines() reads a large file backwards in blocks, across block edges", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "big.log");
    const lines = Array.from({ length: 30_000 }, (_, i) => `${i} ${"é".repeat(i % 37)}`);
    await Deno.writeTextFile(path, lines.join("\n") + "\n");
    assert.deepEqual(await readLastLines(path, 5), lines.slice(-5));
    assert.deepEqual(await readLastLines(path, 12_345), lines.slice(-12_345));
  });
});

Deno.test("readLastLines() takes older lines from the newest rotated files", async () => {
  await withDir(async (dir) => {
    const writer = await RotatingLogWriter.open({
      path: join(dir, "r.log"),
      maxSizeBytes: 100,
      maxAgeMs: 3_600_000,
      keep: 10,
    });
    for (let i = 0; i < 10; i++) await writer.write("out", [`line ${i}`]);
    await writer.close();
    assert.ok((await listLogFiles(writer.path)).length > 3);
    const last = await readLastLines(writer.path, 7);
    assert.deepEqual(last.map(textOf), [3, 4, 5, 6, 7, 8, 9].map((i) => `line ${i}`));
  });
});

Deno.test("readLastLines() returns [] for a log that does not exist", async () => {
  assert.deepEqual(await readLastLines("/nonexistent/scriptmon/a.log", 5), []);
});

Deno.test("readLastLines() rejects a negative count", async () => {
  await assert.rejects(readLastLines("/tmp/a.log", -1), {
    name: "RangeError",
    message: 'Invalid line count for log "/tmp/a.log": expected an integer >= 0, got -1',
  });
});

Deno.test("followLog() delivers only lines appended after it started, a partial one once whole", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "f.log");
    await Deno.writeTextFile(path, "old 1\nold 2\nhalf");
    const follow = startFollowing(path, 3);
    await follow.ready;
    await Deno.writeTextFile(path, " done\nnew 1\nnew 2\n", { append: true });
    await follow.collected;
    follow.controller.abort();
    await follow.done;
    assert.deepEqual(follow.lines, ["half done", "new 1", "new 2"]);
  });
});

Deno.test("followLog() follows the writer through many fast rotations without loss or repeats", async () => {
  await withDir(async (dir) => {
    const writer = await RotatingLogWriter.open({
      path: join(dir, "logs", "r.log"),
      maxSizeBytes: 2048,
      maxAgeMs: 3_600_000,
      keep: 10_000,
    });
    await writer.write("out", ["before follow"]);
    const total = 5_000;
    const follow = startFollowing(writer.path, total);
    await follow.ready;
    for (let i = 0; i < total; i += 10) {
      await writer.write("out", Array.from({ length: 10 }, (_, j) => `n ${i + j}`));
    }
    await writer.close();
    await follow.collected;
    follow.controller.abort();
    await follow.done;
    assert.ok((await listLogFiles(writer.path)).length > 50);
    assert.deepEqual(follow.lines.map(textOf), Array.from({ length: total }, (_, i) => `n ${i}`));
  });
});

Deno.test("followLog() reads a log written anew with its old lines first on from where it stopped", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "f.log");
    await Deno.writeTextFile(path, "a 1\na 2\n");
    const follow = startFollowing(path, 3);
    await follow.ready;
    await Deno.writeTextFile(path, "a 3\n", { append: true });
    await follow.atLeast(1);
    // Another file now (as an editor or a copying tool saves), the same lines first.
    await Deno.writeTextFile(`${path}.new`, "a 1\na 2\na 3\na 4\n");
    await Deno.rename(`${path}.new`, path);
    await follow.atLeast(2);
    await Deno.writeTextFile(path, "a 5\n", { append: true });
    await follow.collected;
    follow.controller.abort();
    await follow.done;
    assert.deepEqual(follow.lines, ["a 3", "a 4", "a 5"]);
  });
});

Deno.test("followLog() reads the rest of its file from the rotated file that has it, found by content", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "r.log");
    await Deno.writeTextFile(path, "l 1\n");
    const follow = startFollowing(path, 3);
    await follow.ready;
    await Deno.writeTextFile(path, "l 2\n", { append: true });
    await follow.atLeast(1);
    // A rotated file that is not the inode the follower read, holding more than its handle saw
    // (Wine's stat said another file, and the follower's handle stopped short).
    const rotated = join(dir, "r.20261207T000000.000Z.log");
    await Deno.copyFile(path, rotated);
    await Deno.writeTextFile(rotated, "l 3\n", { append: true });
    await Deno.remove(path);
    await Deno.writeTextFile(path, "l 4\n");
    await follow.collected;
    follow.controller.abort();
    await follow.done;
    assert.deepEqual(follow.lines, ["l 2", "l 3", "l 4"]);
  });
});

Deno.test("followLog() waits for a missing file and reads it from its start", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "later.log");
    const follow = startFollowing(path, 2);
    await follow.ready;
    await Deno.writeTextFile(path, "first\nsecond\n");
    await follow.collected;
    follow.controller.abort();
    await follow.done;
    assert.deepEqual(follow.lines, ["first", "second"]);
  });
});

Deno.test("followLog() resolves when its signal aborts", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "idle.log");
    await Deno.writeTextFile(path, "x\n");
    const follow = startFollowing(path, 1);
    await follow.ready;
    follow.controller.abort();
    await follow.done;
    assert.deepEqual(follow.lines, []);
  });
});

Deno.test("sameFile() matches by inode, taking a device of 0 (as Wine's handle stat can say) as unknown", () => {
  const file = { dev: 1124073472, ino: 16130164, birthtime: 1796601004525 };
  assert.ok(sameFile(file, { ...file, birthtime: 1796601004541 }), "birthtimes differ under Wine");
  assert.ok(sameFile(file, { ...file, dev: 0 }), "the handle said volume 0");
  assert.ok(!sameFile(file, { ...file, ino: 16130165 }), "another inode");
  assert.ok(!sameFile(file, { ...file, dev: 2049 }), "the same inode on another volume");
  assert.ok(!sameFile(file, { ...file, ino: 16130165, dev: 0 }), "another inode, device unknown");
});
