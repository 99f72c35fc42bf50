import assert from "node:assert/strict";
import { join } from "node:path";
import { pumpLines } from "../agent/logs/mod.ts";
import { listLogFiles, RotatingLogWriter } from "../agent/logs/mod.ts";
import { floodLine } from "./fixtures/flood.ts";

const FLOOD = new URL("./fixtures/flood.ts", import.meta.url).pathname;
const LOG_LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (out|err) (.*)$/;

interface CaptureResult {
  files: string[];
  code: number;
  elapsedMs: number;
}

/** Runs the flood fixture and captures both pipes into a rotating log. */
async function captureFlood(
  options: { dir: string; mb: number; which: string; maxSizeBytes: number; keep: number },
): Promise<CaptureResult> {
  const path = join(options.dir, "logs", "flood.log");
  const writer = await RotatingLogWriter.open({
    path,
    maxSizeBytes: options.maxSizeBytes,
    maxAgeMs: 3_600_000,
    keep: options.keep,
  });
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", FLOOD, String(options.mb), options.which],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    const [, , status] = await Promise.all([
      pumpLines(child.stdout, (lines) => writer.write("out", lines)),
      pumpLines(child.stderr, (lines) => writer.write("err", lines)),
      child.status,
    ]);
    const elapsedMs = performance.now() - started;
    return { files: await listLogFiles(path), code: status.code, elapsedMs };
  } finally {
    await writer.close();
  }
}

/** Checks each file's size and that each stream's lines run from `first[stream]` consecutively to `end`. */
async function checkLogs(
  files: string[],
  options: { maxSizeBytes: number; streams: string[]; contiguousFrom1: boolean },
): Promise<Map<string, { first: number; next: number; ended: boolean }>> {
  const seen = new Map<string, { first: number; next: number; ended: boolean }>();
  for (const file of files) {
    const { size } = await Deno.stat(file);
    assert.ok(size <= options.maxSizeBytes, `${file} has ${size} bytes`);
    const lines = (await Deno.readTextFile(file)).split("\n");
    assert.equal(lines.pop(), "", `${file} ends with a newline`);
    for (const line of lines) {
      const match = LOG_LINE.exec(line);
      assert.ok(match, `malformed log line in ${file}: ${JSON.stringify(line.slice(0, 200))}`);
      const [, , stream, text] = match;
      const state = seen.get(stream);
      if (text.startsWith("end ")) {
        assert.ok(state && !state.ended, `one end line for ${stream}`);
        assert.equal(Number(text.slice(4)), state.next - 1, `end count of ${stream}`);
        state.ended = true;
        continue;
      }
      const n = Number(text.slice(5, 14));
      if (state === undefined) {
        if (options.contiguousFrom1) assert.equal(n, 1, `first ${stream} line`);
        seen.set(stream, { first: n, next: n + 1, ended: false });
      } else {
        assert.ok(!state.ended, `${stream} line after its end line`);
        assert.equal(n, state.next, `${stream} line number in ${file}`);
        state.next++;
      }
      assert.equal(text, floodLine(n), `${stream} line ${n} intact`);
    }
  }
  assert.deepEqual([...seen.keys()].sort(), [...options.streams].sort());
  for (const [stream, state] of seen) assert.ok(state.ended, `${stream} reached its end line`);
  return seen;
}

Deno.test("a 50 MB flood on both pipes is captured whole, in order, within the size limit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon_capture_" });
  try {
    const maxSizeBytes = 5 * 1024 * 1024;
    const result = await captureFlood({ dir, mb: 50, which: "both", maxSizeBytes, keep: 1000 });
    assert.equal(result.code, 0);
    const seen = await checkLogs(result.files, {
      maxSizeBytes,
      streams: ["out", "err"],
      contiguousFrom1: true,
    });
    for (const state of seen.values()) assert.equal(state.next - 1, 50 * 1024 * 1024 / 100 / 2);
    assert.ok(result.files.length > 10, `${result.files.length} files`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with a small keep only the newest rotated files remain, keep + 1 in all", async () => {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon_capture_" });
  try {
    const maxSizeBytes = 256 * 1024;
    const result = await captureFlood({ dir, mb: 4, which: "out", maxSizeBytes, keep: 3 });
    assert.equal(result.code, 0);
    assert.equal(result.files.length, 4);
    const seen = await checkLogs(result.files, {
      maxSizeBytes,
      streams: ["out"],
      contiguousFrom1: false,
    });
    assert.ok(seen.get("out")!.first > 1, "the oldest lines were deleted");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
