import assert from "node:assert/strict";
import { LineSplitter, pumpLines } from "./line_splitter.ts";

const encoder = new TextEncoder();

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

Deno.test("push() returns the complete lines of a chunk and keeps the partial one", () => {
  const splitter = new LineSplitter();
  assert.deepEqual(splitter.push(encoder.encode("a\nbb\ncc")), ["a", "bb"]);
  assert.deepEqual(splitter.push(encoder.encode("c\n")), ["ccc"]);
  assert.deepEqual(splitter.end(), []);
});

Deno.test("push() strips a trailing \\r, also when \\r and \\n arrive in different chunks", () => {
  const splitter = new LineSplitter();
  assert.deepEqual(splitter.push(encoder.encode("one\r\ntwo\r")), ["one"]);
  assert.deepEqual(splitter.push(encoder.encode("\nthree\rx\n")), ["two", "three\rx"]);
});

Deno.test("push() keeps empty lines", () => {
  const splitter = new LineSplitter();
  assert.deepEqual(splitter.push(encoder.encode("\n\na\n\n")), ["", "", "a", ""]);
});

Deno.test("push() decodes a multibyte character split across chunks", () => {
  const bytes = encoder.encode("größe €5 🎉\nnext\n");
  for (let cut = 1; cut < bytes.length; cut++) {
    const splitter = new LineSplitter();
    const lines = [
      ...splitter.push(bytes.subarray(0, cut)),
      ...splitter.push(bytes.subarray(cut)),
      ...splitter.end(),
    ];
    assert.deepEqual(lines, ["größe €5 🎉", "next"], `cut at byte ${cut}`);
  }
});

Deno.test("push() emits a line longer than maxLineBytes in pieces of that size", () => {
  const splitter = new LineSplitter({ maxLineBytes: 8 });
  const lines = [
    ...splitter.push(encoder.encode("short\n0123456789abcdefXYZ")),
    ...splitter.push(encoder.encode("W\nend\n")),
  ];
  assert.deepEqual(lines, ["short", "01234567", "89abcdef", "XYZW", "end"]);
});

Deno.test("push() keeps a line of exactly maxLineBytes whole", () => {
  const splitter = new LineSplitter({ maxLineBytes: 8 });
  assert.deepEqual(splitter.push(encoder.encode("01234567\n")), ["01234567"]);
});

Deno.test("pieces of an overlong line keep multibyte characters intact when joined", () => {
  const splitter = new LineSplitter({ maxLineBytes: 5 });
  const text = "ééééééé€€€";
  const lines = [...splitter.push(encoder.encode(text + "\n")), ...splitter.end()];
  assert.equal(lines.join(""), text);
  assert.ok(lines.length > 1);
  for (const piece of lines) assert.ok(encoder.encode(piece).length <= 5);
});

Deno.test("end() flushes a final line without newline", () => {
  const splitter = new LineSplitter();
  assert.deepEqual(splitter.push(encoder.encode("a\nlast\r")), ["a"]);
  assert.deepEqual(splitter.end(), ["last"]);
  assert.deepEqual(splitter.end(), []);
});

Deno.test("constructor rejects a maxLineBytes below 4", () => {
  assert.throws(() => new LineSplitter({ maxLineBytes: 2 }), {
    name: "RangeError",
    message: "Invalid maxLineBytes: expected an integer >= 4, got 2",
  });
});

Deno.test("pumpLines() calls onLines once per chunk with all of its lines", async () => {
  const batches: string[][] = [];
  await pumpLines(
    streamOf([encoder.encode("a\nb\nc"), encoder.encode("\nd\n"), encoder.encode("tail")]),
    (lines) => {
      batches.push(lines);
    },
  );
  assert.deepEqual(batches, [["a", "b"], ["c", "d"], ["tail"]]);
});

Deno.test("pumpLines() awaits onLines before reading on, keeping order", async () => {
  const seen: string[] = [];
  await pumpLines(streamOf([encoder.encode("1\n"), encoder.encode("2\n")]), async (lines) => {
    await Promise.resolve();
    seen.push(...lines);
  });
  assert.deepEqual(seen, ["1", "2"]);
});

Deno.test("pumpLines() rethrows an error of onLines and cancels the stream", async () => {
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(encoder.encode("x\n"));
    },
    cancel() {
      cancelled = true;
    },
  });
  await assert.rejects(
    pumpLines(stream, () => {
      throw new Error("boom");
    }),
    { message: "boom" },
  );
  assert.equal(cancelled, true);
});
