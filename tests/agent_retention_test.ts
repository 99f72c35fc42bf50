/**
 * What the agent keeps on disk about scripts that are gone: a PID record left by a script taken
 * out of the config while the agent was down is removed at the agent's next start once its
 * process is gone; a configured script's record is the agent's own.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startAgent } from "../agent/mod.ts";
import { loadConfig } from "../agent/config/mod.ts";
import { writeConfig } from "./_agent_process.ts";
import { tempDir, until } from "./_helpers.ts";

Deno.test("a removed script's PID record is removed at start once its process is gone", async () => {
  await using dir = await tempDir();
  const path = await writeConfig(dir.path, `[scripts.a]\ncommand = ["sleep", "30"]\n`);
  const pids = join(dir.path, "data", "pids");
  await Deno.mkdir(pids, { recursive: true });
  const ended = new Deno.Command("true").spawn();
  await ended.status;
  const stale = join(pids, "old_report.pid.json");
  await Deno.writeTextFile(
    stale,
    JSON.stringify({
      script: "old_report",
      pid: ended.pid,
      startTime: "boot:1",
      argv: ["python", "old_report.py"],
      owner: "daemon",
      agentPid: 1,
      startedAt: "2026-11-01T08:00:00.000Z",
    }),
  );
  const agent = await startAgent({ config: await loadConfig(path), watch: false });
  try {
    const left = await until("the stale record removed, the running script's recorded", () => {
      const names = [...Deno.readDirSync(pids)].map((e) => e.name).sort();
      return names.includes("a.pid.json") && !names.includes("old_report.pid.json") && names;
    });
    assert.deepEqual(left, ["a.pid.json"]);
  } finally {
    await agent.shutdown();
  }
});
