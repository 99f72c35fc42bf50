import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { join } from "node:path";
import { alive, tempDir, testScript } from "../../tests/_helpers.ts";
import { type Clock, systemClock } from "../clock.ts";
import { platform } from "../platform/mod.ts";
import { type AdoptContext, adoptRecorded, recordChild } from "./_adopt.ts";
import { pidRecordPath, readPidRecord, writePidRecord } from "./pid_records.ts";

/** The real clock, but no wait longer than 20 ms: the adopted process is polled quickly. */
const quickClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => systemClock.sleep(Math.min(ms, 20), signal),
};

async function withContext(
  argv: string[],
  fn: (ctx: AdoptContext) => Promise<void>,
): Promise<void> {
  await using dir = await tempDir();
  await fn({
    platform,
    clock: quickClock,
    log: getLogger(["scriptmon", "test"]),
    script: testScript("job", argv),
    pidDir: dir.path,
    logPath: join(dir.path, "job.log"),
  });
}

Deno.test("recordChild() leaves a record that adoptRecorded() takes over", async () => {
  const argv = ["sleep", "300"];
  const sleeper = new Deno.Command(argv[0], { args: argv.slice(1), detached: true }).spawn();
  try {
    await withContext(argv, async (ctx) => {
      await recordChild(sleeper.pid, Date.parse("2026-05-01T12:00:00Z"), ctx);
      const { record } = await readPidRecord(ctx.pidDir, "job");
      assert.equal(record?.owner, "daemon");
      assert.equal(record?.logPath, ctx.logPath);
      const adopted = await adoptRecorded(ctx);
      assert.equal(adopted?.pid, sleeper.pid);
      assert.equal(adopted?.startedAt, Date.parse("2026-05-01T12:00:00Z"));
      assert.equal(adopted?.reason, `adopted (started by daemon, agent pid ${Deno.pid})`);
      sleeper.kill("SIGKILL");
      assert.deepEqual(await adopted?.exited, { code: null, signal: null });
    });
  } finally {
    try {
      sleeper.kill("SIGKILL");
    } catch { /* already gone */ }
    await sleeper.status;
  }
});

Deno.test("a record whose pid is now another process is removed, and that process left alone", async () => {
  const stranger = new Deno.Command("sleep", { args: ["300"] }).spawn();
  try {
    await withContext(["sleep", "300"], async (ctx) => {
      const info = (await platform.inspect(stranger.pid))!;
      await writePidRecord(ctx.pidDir, {
        script: "job",
        pid: stranger.pid,
        startTime: info.startTime + "0",
        argv: ["sleep", "300"],
        owner: "once",
        agentPid: 1,
        startedAt: new Date().toISOString(),
      });
      assert.equal(await adoptRecorded(ctx), null);
      assert.equal((await readPidRecord(ctx.pidDir, "job")).record, null);
      assert.equal(await alive(stranger.pid), true);
    });
  } finally {
    stranger.kill("SIGKILL");
    await stranger.status;
  }
});

Deno.test("no record, or a corrupt one, adopts nothing", async () => {
  await withContext(["sleep", "300"], async (ctx) => {
    assert.equal(await adoptRecorded(ctx), null);
    await Deno.writeTextFile(pidRecordPath(ctx.pidDir, "job"), "{ not json");
    assert.equal(await adoptRecorded(ctx), null);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(ctx.pidDir)), []);
  });
});
