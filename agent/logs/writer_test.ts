import assert from "node:assert/strict";
import { basename, join } from "node:path";
import {
  listLogFiles,
  listRotatedFiles,
  RotatingLogWriter,
  type RotatingLogWriterOptions,
} from "./writer.ts";

const T0 = Date.parse("2026-12-01T08:28:09.123Z");

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon_log_writer_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function fakeClock(start = T0): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => time += ms };
}

function openIn(dir: string, options: Partial<RotatingLogWriterOptions> = {}) {
  return RotatingLogWriter.open({
    path: join(dir, "logs", "rates.log"),
    maxSizeBytes: 1024 * 1024,
    maxAgeMs: 3_600_000,
    keep: 10,
    ...options,
  });
}

async function readAll(files: string[]): Promise<string[]> {
  const lines: string[] = [];
  for (const file of files) lines.push(...(await Deno.readTextFile(file)).split("\n").slice(0, -1));
  return lines;
}

Deno.test("write() appends one `<ISO time> <stream> <text>` line per line, creating the directory", async () => {
  await withDir(async (dir) => {
    const clock = fakeClock();
    const writer = await openIn(dir, { now: clock.now });
    await writer.write("out", ["hello", "wörld"]);
    await writer.write("err", ["oops"]);
    await writer.close();
    assert.equal(
      await Deno.readTextFile(join(dir, "logs", "rates.log")),
      "2026-12-01T08:28:09.123Z out hello\n2026-12-01T08:28:09.123Z out wörld\n" +
        "2026-12-01T08:28:09.123Z err oops\n",
    );
  });
});

Deno.test("concurrent write() calls land whole and in call order", async () => {
  await withDir(async (dir) => {
    const writer = await openIn(dir, { maxSizeBytes: 2000 });
    const calls = [];
    for (let i = 0; i < 50; i++) {
      calls.push(writer.write(i % 2 ? "err" : "out", [`${i}a`, `${i}b`, `${i}c`]));
    }
    await Promise.all(calls);
    await writer.close();
    const texts = (await readAll(await listLogFiles(writer.path))).map((l) => l.split(" ")[2]);
    const expected = [];
    for (let i = 0; i < 50; i++) expected.push(`${i}a`, `${i}b`, `${i}c`);
    assert.deepEqual(texts, expected);
  });
});

Deno.test("a batch that does not fit is split at line boundaries so no file exceeds the limit", async () => {
  await withDir(async (dir) => {
    const clock = fakeClock();
    const writer = await openIn(dir, { maxSizeBytes: 100, now: clock.now });
    const lines = Array.from({ length: 10 }, (_, i) => `line-${i}`); // 36 bytes each
    await writer.write("out", lines);
    clock.advance(1);
    await writer.write("out", ["more"]);
    await writer.close();
    const files = await listLogFiles(writer.path);
    assert.equal(files.length, 6); // two 36-byte lines a file, then "more" (33) does not fit
    for (const file of files) assert.ok((await Deno.stat(file)).size <= 100);
    const texts = (await readAll(files)).map((l) => l.split(" ")[2]);
    assert.deepEqual(texts, [...lines, "more"]);
  });
});

Deno.test("a single line larger than the limit gets a file of its own", async () => {
  await withDir(async (dir) => {
    const writer = await openIn(dir, { maxSizeBytes: 50 });
    await writer.write("out", ["a", "x".repeat(200), "b"]);
    await writer.close();
    const files = await listLogFiles(writer.path);
    const contents = await Promise.all(files.map((f) => Deno.readTextFile(f)));
    assert.deepEqual(contents.map((c) => c.split(" ")[2].trim()), ["a", "x".repeat(200), "b"]);
  });
});

Deno.test("rotated files are named `<name>.<UTC time>.log`, made unique with -n", async () => {
  await withDir(async (dir) => {
    const clock = fakeClock();
    const fixed = await openIn(dir, { maxSizeBytes: 40, now: clock.now });
    await fixed.write("out", ["first line!"]);
    await fixed.write("out", ["second line"]);
    await fixed.write("out", ["third line!"]);
    await fixed.close();
    const names = (await listLogFiles(fixed.path)).map((f) => basename(f));
    assert.deepEqual(names, [
      "rates.20261201T082809.123Z.log",
      "rates.20261201T082809.123Z-1.log",
      "rates.log",
    ]);
  });
});

Deno.test("a file whose first line is older than maxAgeMs is rotated before the next write", async () => {
  await withDir(async (dir) => {
    const clock = fakeClock();
    const writer = await openIn(dir, { maxAgeMs: 60_000, now: clock.now });
    await writer.write("out", ["old"]);
    clock.advance(59_999);
    await writer.write("out", ["still young"]);
    clock.advance(1);
    await writer.write("out", ["new"]);
    await writer.close();
    const files = await listLogFiles(writer.path);
    assert.equal(basename(files[0]), "rates.20261201T082909.123Z.log");
    assert.equal((await readAll(files.slice(0, 1))).length, 2);
    assert.match(await Deno.readTextFile(files[1]), /^2026-12-01T08:29:09\.123Z out new\n$/);
  });
});

Deno.test("open() appends to an existing file, counting its size and the age of its first line", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "logs", "rates.log");
    await Deno.mkdir(join(dir, "logs"));
    await Deno.writeTextFile(path, "2026-12-01T08:00:00.000Z out earlier\n");
    const clock = fakeClock(Date.parse("2026-12-01T08:00:30.000Z"));
    const writer = await openIn(dir, { maxAgeMs: 60_000, now: clock.now });
    await writer.write("out", ["appended"]);
    clock.advance(30_000);
    await writer.write("out", ["rotated"]);
    await writer.close();
    const files = await listLogFiles(path);
    assert.equal(files.length, 2);
    assert.deepEqual((await readAll(files)).map((l) => l.split(" ")[2]), [
      "earlier",
      "appended",
      "rotated",
    ]);
  });
});

Deno.test("rotation deletes the oldest rotated files beyond keep", async () => {
  await withDir(async (dir) => {
    const clock = fakeClock();
    const writer = await openIn(dir, { maxSizeBytes: 40, keep: 2, now: clock.now });
    for (let i = 0; i < 6; i++) {
      await writer.write("out", [`line ${i}`]);
      clock.advance(1000);
    }
    await writer.close();
    const files = await listLogFiles(writer.path);
    assert.equal(files.length, 3);
    assert.deepEqual((await readAll(files)).map((l) => l.split(" ").slice(2).join(" ")), [
      "line 3",
      "line 4",
      "line 5",
    ]);
  });
});

Deno.test("a failed write rejects naming the file and later writes still work", async () => {
  await withDir(async (dir) => {
    const writer = await openIn(dir, { maxSizeBytes: 40 });
    await writer.write("out", ["fills the file"]);
    await Deno.remove(join(dir, "logs"), { recursive: true });
    await assert.rejects(writer.write("out", ["forces rotation"]), (error: Error) => {
      assert.equal(error.constructor, Error);
      assert.match(error.message, /^Cannot write 1 line\(s\) to log ".*rates\.log": /);
      assert.ok(error.cause instanceof Deno.errors.NotFound);
      return true;
    });
    await Deno.mkdir(join(dir, "logs"));
    await writer.write("out", ["after"]);
    await writer.close();
    assert.match(await Deno.readTextFile(writer.path), / out after\n$/);
  });
});

Deno.test({
  name: "a write to a full disk rejects and does not block later calls",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const writer = await RotatingLogWriter.open({
      path: "/dev/full",
      maxSizeBytes: 1e9,
      maxAgeMs: 1e9,
      keep: 1,
    });
    await assert.rejects(writer.write("out", ["x"]), {
      message: /^Cannot write 1 line\(s\) to log "\/dev\/full": /,
    });
    await assert.rejects(writer.write("err", ["y"]), { message: /"\/dev\/full"/ });
    await writer.close();
  },
});

Deno.test("write() after close() rejects", async () => {
  await withDir(async (dir) => {
    const writer = await openIn(dir);
    await writer.close();
    await assert.rejects(writer.write("out", ["late"]), {
      message: `Cannot write to log "${writer.path}": writer is closed`,
    });
  });
});

Deno.test("open() rejects a negative keep", async () => {
  await assert.rejects(
    RotatingLogWriter.open({ path: "/tmp/x.log", maxSizeBytes: 1, maxAgeMs: 1, keep: -1 }),
    {
      name: "RangeError",
      message: 'Invalid keep for log "/tmp/x.log": expected an integer >= 0, got -1',
    },
  );
});

Deno.test("listLogFiles() returns [] for a missing directory", async () => {
  assert.deepEqual(await listLogFiles("/nonexistent/scriptmon/x.log"), []);
});

Deno.test("listRotatedFiles() gives every rotated file, also between a rotation's rename and the new file", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "r.log");
    const older = join(dir, "r.20261207T000000.000Z.log");
    const newer = join(dir, "r.20261207T000000.016Z.log");
    await Deno.writeTextFile(older, "l 1\n");
    await Deno.writeTextFile(newer, "l 2\n");
    // The current file renamed aside, its successor not made yet: no current file.
    assert.deepEqual(await listLogFiles(path), [older, newer]);
    assert.deepEqual(await listRotatedFiles(path), [older, newer]);
    await Deno.writeTextFile(path, "l 3\n");
    assert.deepEqual(await listLogFiles(path), [older, newer, path]);
    assert.deepEqual(await listRotatedFiles(path), [older, newer]);
  });
});
