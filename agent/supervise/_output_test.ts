import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { join } from "node:path";
import { tempDir, testScript } from "../../tests/_helpers.ts";
import { systemClock } from "../clock.ts";
import { readLastLines } from "../logs/tail.ts";
import { EventLog } from "./event_log.ts";
import { ScriptOutput } from "./_output.ts";

/** A stream of `text`, in one chunk. */
const streamOf = (text: string) => ReadableStream.from([new TextEncoder().encode(text)]);

async function withOutput(
  fn: (output: ScriptOutput, logPath: string, seen: number[]) => Promise<void>,
): Promise<void> {
  await using dir = await tempDir();
  const kv = await Deno.openKv(":memory:");
  const events = await EventLog.open(kv);
  const logPath = join(dir.path, "job.log");
  const seen: number[] = [];
  const output = new ScriptOutput({
    script: testScript("job", ["true"]),
    logPath,
    events,
    clock: systemClock,
    log: getLogger(["scriptmon", "test"]),
    onOutput: (at) => seen.push(at),
  });
  try {
    await fn(output, logPath, seen);
  } finally {
    await output.close();
    await events.flush();
    kv.close();
  }
}

Deno.test("captured lines land in the log tagged by stream; the last 50 stay in memory", () =>
  withOutput(async (output, logPath, seen) => {
    await output.open();
    const many = Array.from({ length: 60 }, (_, i) => `line ${i + 1}`).join("\n") + "\n";
    await output.capture({ stdout: streamOf(many), stderr: streamOf("oops\n") });
    assert.equal(output.recent.length, 50);
    assert.deepEqual(output.recent.filter((l) => l.stream === "err"), [
      { stream: "err", line: "oops" },
    ]);
    assert.ok(output.lastAt !== null && seen.includes(output.lastAt));
    const lines = await readLastLines(logPath, 100);
    assert.equal(lines.filter((l) => / out line \d+$/.test(l)).length, 60);
    assert.ok(lines.some((l) => / err oops$/.test(l)));
  }));

Deno.test("capture() before open() fails, naming the script", () =>
  withOutput((output) => {
    assert.throws(
      () => output.capture({ stdout: streamOf(""), stderr: streamOf("") }),
      new Error('The log of script "job" is not open: open() first'),
    );
    return Promise.resolve();
  }));
