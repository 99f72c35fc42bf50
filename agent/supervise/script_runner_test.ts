import assert from "node:assert/strict";
import { join } from "node:path";
import { alive, denoFixture, nextEvent, tempDir, testScript, until } from "../../tests/_helpers.ts";
import { systemClock } from "../clock.ts";
import { openKv, STORE_FILE } from "../kv.ts";
import { EventLog } from "./event_log.ts";
import { readLastLines } from "../logs/tail.ts";
import { readPidRecord, writePidRecord } from "./pid_records.ts";
import { platform } from "../platform/mod.ts";
import { RECORD_RESTART_AFTER_MS, ScriptRunner } from "./script_runner.ts";
import { parseDuration } from "../../shared/config/units.ts";
import type { ResolvedScript } from "../../shared/agent_config/types.ts";

/** A runner on a temp data dir; disposing stops the script and closes everything. */
async function harness(script: ResolvedScript) {
  const dir = await tempDir();
  const kv = await openKv(join(dir.path, STORE_FILE));
  const events = await EventLog.open(kv);
  const deps = {
    platform,
    events,
    clock: systemClock,
    pidDir: join(dir.path, "pids"),
    logDir: join(dir.path, "logs"),
  };
  await Deno.mkdir(deps.pidDir, { recursive: true });
  const runner = new ScriptRunner(script, deps);
  return {
    runner,
    events,
    deps,
    async [Symbol.asyncDispose]() {
      await runner.dispose();
      await events.flush();
      kv.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

const stateOf =
  (name: string, state: string) => (e: { script?: string; state?: string; kind: string }) =>
    e.kind === "state" && e.script === name && e.state === state;

Deno.test("a crashing script is restarted with growing backoff delays", async () => {
  await using h = await harness(
    testScript("crashy", denoFixture("exit_after.ts", "0", "3"), {
      restart: { minDelayMs: 50, maxDelayMs: 400, multiplier: 2 },
    }),
  );
  const delays: number[] = [];
  const seen = new Promise<void>((resolve) => {
    h.events.subscribe((e) => {
      const m = e.kind === "state" && e.state === "backoff" &&
        /next start in (\S+)$/.exec(e.reason ?? "");
      if (m && delays.push(parseDuration(m[1])) === 4) resolve();
    });
  });
  await h.runner.start();
  await seen;
  assert.deepEqual(delays.slice(0, 4), [50, 100, 200, 400]);
  assert.equal(h.runner.status().lastExit?.code, 3);
  // Every transition and exit is kept in KV, newest first.
  const stored = await h.events.list({ script: "crashy", limit: 1000 });
  const exits = stored.filter((e) => e.kind === "exit");
  assert.ok(exits.length >= 4);
  assert.deepEqual([exits[0].exitCode, exits[0].reason], [3, "exited with code 3"]);
  assert.ok(
    stored.some((e) => e.kind === "state" && e.from === "running" && e.state === "backoff"),
  );
});

Deno.test("a run that lasts reset_after resets the backoff to min_delay", async () => {
  await using h = await harness(
    testScript("steady", denoFixture("exit_after.ts", "400", "1"), {
      restart: { minDelayMs: 20, maxDelayMs: 5000, multiplier: 10, resetAfterMs: 300 },
    }),
  );
  const delays: number[] = [];
  const seen = new Promise<void>((resolve) => {
    h.events.subscribe((e) => {
      const m = e.kind === "state" && e.state === "backoff" &&
        /next start in (\S+)$/.exec(e.reason ?? "");
      if (m && delays.push(parseDuration(m[1])) === 3) resolve();
    });
  });
  await h.runner.start();
  await seen;
  // Every run lasted longer than reset_after, so no delay ever grew.
  assert.deepEqual(delays, [20, 20, 20]);
});

Deno.test("more than max_restarts within window moves the script to crash-looping", async () => {
  await using h = await harness(
    testScript("loop", denoFixture("exit_after.ts", "0", "1"), {
      restart: { minDelayMs: 0, maxDelayMs: 30_000, maxRestarts: 3, windowMs: 60_000 },
    }),
  );
  const looping = nextEvent(h.events, stateOf("loop", "crash-looping"));
  await h.runner.start();
  const event = await looping;
  assert.equal(event.reason, "4 restarts within 1m; next start in 30s");
  const status = h.runner.status();
  assert.equal(status.state, "crash-looping");
  assert.equal(status.crashLoop, true);
  // The count and the reason's text agree.
  assert.equal(status.restarts, 4);
  assert.ok(status.nextStartAt);
});

Deno.test("crash-looping holds through the retries and ends when a run lasts reset_after", async () => {
  await using dir = await tempDir();
  const counter = join(dir.path, "runs");
  await using h = await harness(
    testScript("flaky", denoFixture("crash_then_run.ts", counter, "4"), {
      restart: {
        minDelayMs: 0,
        maxDelayMs: 50,
        maxRestarts: 2,
        windowMs: 60_000,
        resetAfterMs: 700,
      },
    }),
  );
  const states: string[] = [];
  h.events.subscribe((e) => {
    if (e.kind === "state" && e.script === "flaky") states.push(e.state ?? "");
  });
  const over = nextEvent(
    h.events,
    (e) => e.kind === "state" && e.state === "running" && e.reason === "the crash loop is over",
  );
  await h.runner.start();
  const retry = await until("the fifth run up while crash-looping", () => {
    const s = h.runner.status();
    return s.pid !== null && s.state === "crash-looping" ? s : undefined;
  });
  assert.equal(retry.crashLoop, true);
  await over;
  const looping = states.indexOf("crash-looping");
  const episode = states.slice(looping, states.lastIndexOf("running"));
  assert.ok(looping > 0, states.join(" "));
  assert.deepEqual(episode.filter((s) => s !== "crash-looping"), [], states.join(" "));
  const status = h.runner.status();
  assert.deepEqual([status.state, status.crashLoop, status.restarts], ["running", false, 4]);
});

Deno.test("recycle() restarts a run for a check: counted, and repeated it becomes a crash loop", async () => {
  await using h = await harness(
    testScript("leaky", denoFixture("print_hang.ts", "1"), {
      restart: { minDelayMs: 0, maxDelayMs: 50, maxRestarts: 2, windowMs: 60_000 },
    }),
  );
  await h.runner.start();
  const first = h.runner.status().pid;
  const looping = nextEvent(h.events, stateOf("leaky", "crash-looping"));
  for (let i = 1; i <= 3; i++) {
    const pid = h.runner.status().pid;
    await h.runner.recycle("memory: 600 MB over memory_restart 500 MB");
    await until(`run ${i + 1} up`, () => {
      const s = h.runner.status();
      return s.pid !== null && s.pid !== pid && s.restarts === i ? s : undefined;
    });
  }
  await looping;
  const status = h.runner.status();
  assert.notEqual(status.pid, first);
  assert.equal(status.state, "crash-looping");
  assert.equal(status.restarts, 3);
  const exits = await h.events.list({ script: "leaky", limit: 100 });
  assert.ok(
    exits.some((e) =>
      e.kind === "exit" && e.reason === "restarted: memory: 600 MB over memory_restart 500 MB"
    ),
  );
});

Deno.test("stop() ends the whole process tree, grandchild included", async () => {
  await using h = await harness(testScript("tree", denoFixture("tree.ts")));
  await h.runner.start();
  const pid = h.runner.status().pid!;
  const grandchild = await until(
    "the grandchild pid in the log",
    () => h.runner.recentLines.find((l) => /^\d+$/.test(l.line))?.line,
  );
  assert.ok(await alive(Number(grandchild)));
  await h.runner.stop();
  assert.equal(h.runner.state, "stopped");
  assert.equal(await alive(pid), false);
  assert.equal(await alive(Number(grandchild)), false);
  assert.equal((await readPidRecord(h.deps.pidDir, "tree")).record, null);
});

Deno.test("stop() kills a tree that ignores SIGTERM after stop_timeout", async () => {
  await using h = await harness(
    testScript("stubborn", denoFixture("tree.ts", "--ignore-term"), { stopTimeoutMs: 300 }),
  );
  await h.runner.start();
  const grandchild = await until(
    "the grandchild pid",
    () => h.runner.recentLines.find((l) => /^\d+$/.test(l.line))?.line,
  );
  const pid = h.runner.status().pid!;
  await h.runner.stop();
  assert.equal(await alive(pid), false);
  assert.equal(await alive(Number(grandchild)), false);
  assert.equal(h.runner.status().lastExit?.signal, "SIGKILL");
});

Deno.test("stdout and stderr lines land in the script's log, tagged by stream", async () => {
  await using h = await harness(testScript("printer", denoFixture("print_hang.ts", "3")));
  await h.runner.start();
  await until("four lines", () => h.runner.recentLines.length >= 4);
  await h.runner.stop();
  const lines = await readLastLines(h.runner.logPath, 10);
  const outs = lines.filter((l) => / out /.test(l)).map((l) => l.split(" out ")[1]);
  assert.deepEqual(outs, ["line 1", "line 2", "line 3"]);
  assert.ok(lines.some((l) => / err to stderr$/.test(l)));
  assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z out line 1$/);
});

Deno.test("a missing command fails with a clear reason and is retried", async () => {
  await using h = await harness(
    testScript("ghost", ["no-such-program-xyz", "--flag"], { restart: { minDelayMs: 50 } }),
  );
  const failed = nextEvent(h.events, stateOf("ghost", "failed"));
  const retried = nextEvent(h.events, stateOf("ghost", "backoff"));
  await h.runner.start();
  assert.equal(
    (await failed).reason,
    'Cannot start script "ghost": command "no-such-program-xyz" not found',
  );
  await retried;
});

Deno.test("a running copy from a valid PID record is adopted, not started twice", async () => {
  const argv = ["sleep", "300"];
  const sleeper = new Deno.Command("sleep", { args: ["300"], detached: true }).spawn();
  try {
    await using h = await harness(testScript("sleeper", argv));
    const info = (await platform.inspect(sleeper.pid))!;
    await writePidRecord(h.deps.pidDir, {
      script: "sleeper",
      pid: sleeper.pid,
      startTime: info.startTime,
      argv,
      owner: "once",
      agentPid: 1,
      startedAt: new Date().toISOString(),
    });
    await h.runner.start();
    const status = h.runner.status();
    assert.equal(status.pid, sleeper.pid);
    assert.equal(status.adopted, true);
    assert.equal(status.state, "running");
    await h.runner.stop();
    assert.equal((await sleeper.status).signal, "SIGTERM");
  } finally {
    try {
      sleeper.kill("SIGKILL");
    } catch { /* already gone */ }
    await sleeper.status;
  }
});

Deno.test("a restart after a short run is recorded once it has run a second: a crash loop writes none", async () => {
  await using dir = await tempDir();
  const counter = join(dir.path, "runs");
  await using h = await harness(
    testScript("flaky", denoFixture("crash_then_run.ts", counter, "3"), {
      restart: { minDelayMs: 0, maxRestarts: 1000, resetAfterMs: 60_000 },
    }),
  );
  // Every record starts with the start time of its process: count whose it asked for.
  const asked: number[] = [];
  const counting = new Proxy(h.deps.platform, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (typeof value !== "function") return value;
      if (name !== "startTimeOf" && name !== "inspect") return value.bind(target);
      return (pid: number) => (asked.push(pid), value.call(target, pid));
    },
  });
  const runner = new ScriptRunner(h.runner.config, { ...h.deps, platform: counting });
  const started: number[] = [];
  h.events.subscribe((e) => {
    if (e.kind === "state" && e.state === "running" && e.pid) started.push(e.pid);
  });
  try {
    await runner.start();
    const last = await until("the fourth run, which keeps running", async () => {
      const { pid, state } = runner.status();
      const runs = await Deno.readTextFile(counter).catch(() => "0");
      return pid !== null && state === "running" && runs === "4" ? pid : undefined;
    });
    const { record } = await until("the fourth run's PID record", async () => {
      const read = await readPidRecord(h.deps.pidDir, "flaky");
      return read.record?.pid === last ? read : undefined;
    });
    assert.ok(Date.now() - Date.parse(record!.startedAt) >= RECORD_RESTART_AFTER_MS);
    // The first start is recorded at once; the two restarts that crashed at once, never.
    assert.equal(started.length, 4);
    assert.deepEqual(asked, [started[0], last]);
  } finally {
    await runner.dispose();
  }
});

Deno.test("a PID record whose pid now belongs to another process is not trusted", async () => {
  const stranger = new Deno.Command("sleep", { args: ["300"] }).spawn();
  try {
    await using h = await harness(testScript("rates", denoFixture("print_hang.ts", "1")));
    const info = (await platform.inspect(stranger.pid))!;
    // Same pid, but recorded with another start time: the pid was reused.
    await writePidRecord(h.deps.pidDir, {
      script: "rates",
      pid: stranger.pid,
      startTime: info.startTime + "0",
      argv: ["sleep", "300"],
      owner: "daemon",
      agentPid: 1,
      startedAt: new Date().toISOString(),
    });
    await h.runner.start();
    const status = h.runner.status();
    assert.notEqual(status.pid, stranger.pid);
    assert.equal(status.adopted, false);
    await h.runner.stop();
    assert.equal(await alive(stranger.pid), true, "the unrelated process was not signalled");
  } finally {
    stranger.kill("SIGKILL");
    await stranger.status;
  }
});

Deno.test("policy on-failure leaves a script that exited 0 in state exited", async () => {
  await using h = await harness(
    testScript("oneshot", denoFixture("exit_after.ts", "0", "0"), {
      restart: { policy: "on-failure" },
    }),
  );
  const exited = nextEvent(h.events, stateOf("oneshot", "exited"));
  await h.runner.start();
  await exited;
  assert.equal(h.runner.status().restarts, 0);
  assert.equal(h.runner.status().lastExit?.code, 0);
});

Deno.test("a scheduled script waits in state scheduled, runs at its cron time, waits again", async () => {
  await using h = await harness(
    testScript("report", denoFixture("exit_after.ts", "0", "0"), {
      schedule: { cron: "* * * * * *", timezone: "UTC" },
    }),
  );
  const waiting = nextEvent(h.events, stateOf("report", "scheduled"));
  const ran = nextEvent(
    h.events,
    (e) => e.kind === "state" && e.script === "report" && e.state === "running",
  );
  const done = nextEvent(
    h.events,
    (e) =>
      e.kind === "state" && e.script === "report" && e.state === "scheduled" &&
      e.reason === "exited with code 0",
  );
  await h.runner.start();
  assert.equal((await waiting).reason, "waiting for schedule");
  await ran;
  await done;
  assert.equal(h.runner.status().lastExit?.code, 0);
  assert.ok(h.runner.status().nextStartAt);
});

Deno.test("a scheduled run that overruns its period is reported with its duration, and never doubled", async () => {
  await using h = await harness(
    testScript("report", denoFixture("exit_after.ts", "2200", "0"), {
      schedule: { cron: "* * * * * *", timezone: "UTC" },
    }),
  );
  const starts: number[] = [];
  const off = h.events.subscribe((e) => {
    if (e.kind === "state" && e.script === "report" && e.state === "running") starts.push(e.pid!);
  });
  const overran = nextEvent(
    h.events,
    (e) => e.kind === "state" && e.script === "report" && /^overran/.test(e.reason ?? ""),
  );
  await h.runner.start();
  const { reason } = await overran;
  off();
  assert.match(
    reason!,
    /^overran: the run took 2\.\ds against its schedule of every 1s; skipped [1-3] scheduled runs? \(never two at once\)$/,
  );
  assert.equal(starts.length, 1, "one run while it overran");
});

Deno.test("a stop that arrives during a restart wins: the script ends stopped", async () => {
  await using h = await harness(testScript("racy", denoFixture("print_hang.ts", "1")));
  await h.runner.start();
  const restarting = h.runner.restart();
  const stopping = h.runner.stop();
  await Promise.all([restarting, stopping]);
  assert.equal(h.runner.state, "stopped");
  assert.equal(h.runner.status().pid, null);
});

Deno.test("a disposed runner cannot be started again", async () => {
  await using h = await harness(testScript("gone", denoFixture("print_hang.ts", "1")));
  await h.runner.start();
  await h.runner.dispose("removed from the config");
  await h.runner.start();
  assert.equal(h.runner.state, "stopped");
  assert.equal(h.runner.status().pid, null);
});

Deno.test("an adopted on-failure script that ends is not restarted", async () => {
  const sleeper = new Deno.Command("sleep", { args: ["0.3"], detached: true }).spawn();
  await using h = await harness(
    testScript("job", ["sleep", "0.3"], { restart: { policy: "on-failure" } }),
  );
  const info = (await platform.inspect(sleeper.pid))!;
  await writePidRecord(h.deps.pidDir, {
    script: "job",
    pid: sleeper.pid,
    startTime: info.startTime,
    argv: ["sleep", "0.3"],
    owner: "once",
    agentPid: 1,
    startedAt: new Date().toISOString(),
  });
  const exited = nextEvent(h.events, stateOf("job", "exited"));
  await h.runner.start();
  assert.equal(h.runner.status().adopted, true);
  await sleeper.status;
  await exited;
  assert.equal(h.runner.status().restarts, 0);
});

Deno.test("runEnv is added to the next start; the run going keeps the one it started with", async () => {
  await using records = await tempDir();
  const file = join(records.path, "starts.txt");
  await using h = await harness(testScript("shard", denoFixture("replica.ts", file)));
  // "start <ms> <pid> <SCRIPTMON_REPLICA> <SCRIPTMON_REPLICAS>" per start: the last two.
  const starts = async () =>
    (await Deno.readTextFile(file).catch(() => "")).split("\n")
      .filter((line) => line.startsWith("start "))
      .map((line) => line.split(" ").slice(3).join(" "));
  h.runner.runEnv = { SCRIPTMON_REPLICA: "1", SCRIPTMON_REPLICAS: "3" };
  await h.runner.start();
  await until("the first start", async () => (await starts()).length === 1);
  h.runner.runEnv = { SCRIPTMON_REPLICA: "2", SCRIPTMON_REPLICAS: "3" };
  assert.deepEqual(await starts(), ["1 3"]);
  await h.runner.restart();
  await until("the second start", async () => (await starts()).length === 2);
  assert.deepEqual(await starts(), ["1 3", "2 3"]);
});
