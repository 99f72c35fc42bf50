import assert from "node:assert/strict";
import { join } from "node:path";
import { MAX_LOGS_PAYLOAD_BYTES, parseLogLine, readLogsAnswer } from "./request.ts";
import { RotatingLogWriter } from "./writer.ts";

async function withLog(fn: (path: string, writer: RotatingLogWriter) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon_log_request_" });
  const path = join(dir, "rates.log");
  let now = Date.parse("2026-12-01T08:00:00.000Z");
  const writer = await RotatingLogWriter.open({
    path,
    maxSizeBytes: 1024 * 1024,
    maxAgeMs: 86_400_000,
    keep: 2,
    now: () => now++,
  });
  try {
    await fn(path, writer);
  } finally {
    await writer.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("parseLogLine() reads the agent's time and stream tags; other lines are 'other'", () => {
  assert.deepEqual(parseLogLine("2026-12-01T08:28:09.123Z err boom <b>"), {
    at: "2026-12-01T08:28:09.123Z",
    stream: "stderr",
    text: "boom <b>",
  });
  assert.deepEqual(parseLogLine("2026-12-01T08:28:09.123Z out  two  spaces").text, " two  spaces");
  assert.deepEqual(parseLogLine("plain"), { at: null, stream: "other", text: "plain" });
  assert.equal(parseLogLine("x".repeat(5000)).text.length, 2000);
});

Deno.test("readLogsAnswer() returns the last n lines with stream marks, oldest first", async () => {
  await withLog(async (path, writer) => {
    await writer.write("out", ["one", "two"]);
    await writer.write("err", ["three"]);
    const answer = await readLogsAnswer(path, { lines: 2 });
    assert.deepEqual(answer.lines.map((l) => [l.stream, l.text]), [
      ["stdout", "two"],
      ["stderr", "three"],
    ]);
    assert.equal(answer.truncated, false);
  });
});

Deno.test("readLogsAnswer() after a cursor returns only the lines written since", async () => {
  await withLog(async (path, writer) => {
    await writer.write("out", ["a", "b"]);
    const first = await readLogsAnswer(path, { lines: 10 });
    assert.deepEqual(first.lines.map((l) => l.text), ["a", "b"]);
    const none = await readLogsAnswer(path, { lines: 10, after: first.cursor });
    assert.deepEqual(none.lines, []);
    assert.equal(none.cursor, first.cursor);
    await writer.write("out", ["c", "d", "e"]);
    const some = await readLogsAnswer(path, { lines: 2, after: first.cursor });
    assert.deepEqual(some.lines.map((l) => l.text), ["c", "d"]);
    const rest = await readLogsAnswer(path, { lines: 10, after: some.cursor });
    assert.deepEqual(rest.lines.map((l) => l.text), ["e"]);
  });
});

Deno.test("readLogsAnswer() of an empty log answers no lines, then follows it once written", async () => {
  await withLog(async (path, writer) => {
    assert.deepEqual(await readLogsAnswer(`${path}.none`, { lines: 5 }), {
      lines: [],
      cursor: "#0",
      truncated: false,
    });
    const empty = await readLogsAnswer(path, { lines: 5 });
    assert.deepEqual(empty, { lines: [], cursor: "#0", truncated: false });
    await writer.write("out", ["first"]);
    const next = await readLogsAnswer(path, { lines: 5, after: empty.cursor });
    assert.deepEqual(next.lines.map((l) => l.text), ["first"]);
  });
});

Deno.test("readLogsAnswer() refuses a cursor it did not make", async () => {
  await withLog(async (path) => {
    await assert.rejects(
      readLogsAnswer(path, { lines: 5, after: "yesterday" }),
      new SyntaxError(
        'Invalid log cursor: expected one from an earlier answer like "2026-12-01T08:28:09.123Z#1", ' +
          'got "yesterday"',
      ),
    );
  });
});

Deno.test("readLogsAnswer() keeps an answer within the payload budget", async () => {
  await withLog(async (path, writer) => {
    await writer.write("out", Array.from({ length: 400 }, (_, i) => `${i} ${"é".repeat(1990)}`));
    const answer = await readLogsAnswer(path, { lines: 400 });
    const bytes = new TextEncoder().encode(JSON.stringify(answer.lines)).length;
    assert.ok(bytes <= MAX_LOGS_PAYLOAD_BYTES + 1000, `${bytes} bytes`);
    assert.ok(answer.lines.length > 10 && answer.lines.length < 400);
    assert.match(answer.lines.at(-1)!.text, /^399 /);
  });
});
