import assert from "node:assert/strict";
import { configure, getLogger, type LogRecord, reset } from "@logtape/logtape";
import { CRASH_LOOP_REPORT_MS, ExitLog } from "./_exit_log.ts";

/** The records logged under `["scriptmon"]` while `fn` runs, as `LEVEL text`. */
async function logged(fn: () => void): Promise<string[]> {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { memory: (record) => records.push(record) },
    loggers: [
      { category: ["scriptmon"], lowestLevel: "debug", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  try {
    fn();
  } finally {
    await reset();
  }
  return records.map((r) => `${r.level} ${r.message.map(String).join("")}`);
}

Deno.test("ExitLog warns of every failed exit outside a crash loop", async () => {
  const lines = await logged(() => {
    const exits = new ExitLog(getLogger(["scriptmon", "test"]), "rates");
    exits.exit(101, "exited with code 1", false, 0);
    exits.exit(102, "killed by SIGKILL", false, 1000);
  });
  assert.deepEqual(lines, [
    "warning rates (pid 101) exited with code 1",
    "warning rates (pid 102) killed by SIGKILL",
  ]);
});

Deno.test("ExitLog keeps a crash loop's exits at debug and counts them in a warning every 5m", async () => {
  const lines = await logged(() => {
    const exits = new ExitLog(getLogger(["scriptmon", "test"]), "rates");
    exits.crashLoopStarted(0);
    // One exit every 0.3 s for 5 minutes and a bit.
    for (let i = 1; i <= 1001; i++) exits.exit(i, "exited with code 1", true, i * 300);
  });
  const warnings = lines.filter((l) => l.startsWith("warning"));
  assert.equal(lines.filter((l) => l.startsWith("debug")).length, 1001);
  assert.equal(lines[0], "debug rates (pid 1) exited with code 1");
  assert.equal(CRASH_LOOP_REPORT_MS, 300_000);
  assert.deepEqual(warnings, [
    "warning rates is still crash-looping: 1000 exits in the last 5m; pid 1000 exited with code 1",
  ]);
});
