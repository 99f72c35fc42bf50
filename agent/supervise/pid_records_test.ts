import assert from "node:assert/strict";
import { join } from "node:path";
import { platform } from "../platform/mod.ts";
import {
  matchesCommandLine,
  type PidRecord,
  readPidRecord,
  readPidRecords,
  removePidRecord,
  removeStalePidRecords,
  verifyPidRecord,
  writePidRecord,
} from "./pid_records.ts";

const linux = Deno.build.os === "linux";

function sampleRecord(overrides: Partial<PidRecord> = {}): PidRecord {
  return {
    script: "token_monitor",
    pid: 4242,
    startTime: "boot:123",
    argv: ["python", "token_monitor.py"],
    owner: "once",
    agentPid: 1000,
    startedAt: "2026-12-01T08:28:09.000Z",
    logPath: "/data/logs/token_monitor.log",
    ...overrides,
  };
}

/** The process once it has exec'd: right after spawn its command line can still be empty. */
async function execed(pid: number) {
  for (let i = 0; i < 200; i++) {
    const info = await platform.inspect(pid);
    if (info && info.commandLine.length > 0) return info;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`process ${pid} showed no command line within 2 s`);
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("writePidRecord() then readPidRecord() round-trips and leaves no temp file", async () => {
  await withTempDir(async (dir) => {
    const records = join(dir, "pids");
    await writePidRecord(records, sampleRecord());
    await writePidRecord(records, sampleRecord({ pid: 4343 }));
    assert.deepEqual(await readPidRecord(records, "token_monitor"), {
      script: "token_monitor",
      record: sampleRecord({ pid: 4343 }),
    });
    const names = [];
    for await (const entry of Deno.readDir(records)) names.push(entry.name);
    assert.deepEqual(names, ["token_monitor.pid.json"]);
  });
});

Deno.test("a temp file left by a crash mid-write does not corrupt the record", async () => {
  await withTempDir(async (dir) => {
    await writePidRecord(dir, sampleRecord());
    await Deno.writeTextFile(join(dir, "token_monitor.pid.json.tmp-0a1b2c"), '{"script":"tok');
    assert.deepEqual((await readPidRecord(dir, "token_monitor")).record, sampleRecord());
    assert.deepEqual(await readPidRecords(dir), [
      { script: "token_monitor", record: sampleRecord() },
    ]);
  });
});

Deno.test("a missing record is null without an error", async () => {
  await withTempDir(async (dir) => {
    assert.deepEqual(await readPidRecord(dir, "rates"), { script: "rates", record: null });
    assert.deepEqual(await readPidRecords(join(dir, "nope")), []);
  });
});

Deno.test("a corrupt record is null with a SyntaxError, a wrong shape with a TypeError", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "rates.pid.json"), "{not json");
    await Deno.writeTextFile(
      join(dir, "queue.pid.json"),
      JSON.stringify(sampleRecord({
        script: "queue",
        pid: -1,
      })),
    );
    const [queue, rates] = await readPidRecords(dir);
    assert.equal(rates.record, null);
    assert.ok(rates.error instanceof SyntaxError);
    assert.equal(
      rates.error.message,
      `Invalid PID record "${join(dir, "rates.pid.json")}": not JSON`,
    );
    assert.equal(queue.record, null);
    assert.ok(queue.error instanceof TypeError);
    assert.equal(
      queue.error.message,
      `Invalid PID record "${join(dir, "queue.pid.json")}": ` +
        'field "pid" must be a positive integer, got -1',
    );
  });
});

Deno.test("removePidRecord() removes a record and accepts a missing one", async () => {
  await withTempDir(async (dir) => {
    await writePidRecord(dir, sampleRecord());
    await removePidRecord(dir, "token_monitor");
    await removePidRecord(dir, "token_monitor");
    assert.equal((await readPidRecord(dir, "token_monitor")).record, null);
  });
});

Deno.test("a script name that is not a safe file name is refused", async () => {
  await assert.rejects(() => readPidRecord("/tmp", "../etc/passwd"), {
    name: "TypeError",
    message:
      'Invalid script name for a PID record: expected letters, digits, "_", "-" or ".", got "../etc/passwd"',
  });
});

Deno.test("matchesCommandLine() accepts the same argv or its tail with a matching program name", () => {
  assert.ok(matchesCommandLine(["sleep", "30"], ["/usr/bin/sleep", "30"]));
  assert.ok(matchesCommandLine(["./x.sh", "a"], ["/bin/sh", "./x.sh", "a"]));
  assert.ok(
    matchesCommandLine(["python", "t.py"], ["C:\\Program Files\\Python311\\python.exe", "t.py"]),
  );
  assert.ok(!matchesCommandLine(["python", "t.py"], ["/usr/bin/python3", "other.py"]));
  assert.ok(!matchesCommandLine(["python", "t.py"], ["python", "t.py", "--extra"]));
  assert.ok(!matchesCommandLine(["python", "t.py"], []));
});

Deno.test({
  name: "verifyPidRecord() trusts a live sleep whose pid, start time and argv match",
  ignore: !linux,
  async fn() {
    const child = new Deno.Command("sleep", { args: ["30"] }).spawn();
    try {
      const info = await execed(child.pid);
      assert.ok(info);
      const record = sampleRecord({
        pid: child.pid,
        startTime: info.startTime,
        argv: ["sleep", "30"],
      });
      assert.deepEqual(await verifyPidRecord(record, platform), { status: "alive", info });
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
  },
});

Deno.test({
  name: "verifyPidRecord() reports a reused pid (same pid, other start time) as a mismatch",
  ignore: !linux,
  async fn() {
    const child = new Deno.Command("sleep", { args: ["30"] }).spawn();
    try {
      const info = await execed(child.pid);
      assert.ok(info);
      const record = sampleRecord({
        pid: child.pid,
        startTime: "old-boot:1",
        argv: ["sleep", "30"],
      });
      assert.deepEqual(await verifyPidRecord(record, platform), {
        status: "mismatch",
        reason: `pid ${child.pid} was reused: the live process started at ${info.startTime}, ` +
          "the record says old-boot:1",
      });
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
  },
});

Deno.test({
  name: "verifyPidRecord() reports an unrelated live process as a mismatch",
  ignore: !linux,
  async fn() {
    const self = await platform.inspect(Deno.pid);
    assert.ok(self);
    const record = sampleRecord({ pid: Deno.pid, startTime: self.startTime });
    const check = await verifyPidRecord(record, platform);
    assert.equal(check.status, "mismatch");
    assert.ok(check.status === "mismatch");
    assert.match(check.reason, /not the recorded \["python","token_monitor.py"\]$/);
  },
});

Deno.test({
  name: "verifyPidRecord() reports a dead pid as gone",
  ignore: !linux,
  async fn() {
    const child = new Deno.Command("true").spawn();
    await child.status;
    assert.deepEqual(
      await verifyPidRecord(sampleRecord({ pid: child.pid }), platform),
      { status: "gone" },
    );
  },
});

Deno.test({
  name: "removeStalePidRecords() removes the records of removed scripts whose process is gone",
  ignore: !linux,
  async fn() {
    await withTempDir(async (dir) => {
      const done = new Deno.Command("true").spawn();
      await done.status;
      const live = new Deno.Command("sleep", { args: ["30"] }).spawn();
      try {
        const info = await execed(live.pid);
        await writePidRecord(dir, sampleRecord({ script: "kept", pid: done.pid }));
        await writePidRecord(dir, sampleRecord({ script: "gone", pid: done.pid }));
        await writePidRecord(
          dir,
          sampleRecord({
            script: "still_running",
            pid: live.pid,
            startTime: info.startTime,
            argv: info.commandLine,
          }),
        );
        await Deno.writeTextFile(join(dir, "broken.pid.json"), "{");
        const removed = await removeStalePidRecords(dir, (s) => s === "kept", platform);
        assert.deepEqual(removed.sort(), ["broken", "gone"]);
        assert.deepEqual(
          (await readPidRecords(dir)).map((r) => r.script),
          ["kept", "still_running"],
          "a configured script's record and a live process's record stay",
        );
      } finally {
        live.kill();
        await live.status;
      }
    });
  },
});
