/**
 * The agent as a user runs it: separate processes, real scripts, real
 * signals. One of each, never two; nothing left behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readPidRecord } from "../agent/supervise/mod.ts";
import { platform } from "../agent/platform/mod.ts";
import { agentCli, AgentProcess, fixtureScript, writeConfig } from "./_agent_process.ts";
import { alive, tempDir, until } from "./_helpers.ts";

/** Pids of live processes whose command line contains `marker`. */
async function processesWith(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    const info = await platform.inspect(pid).catch(() => null);
    if (info?.commandLine.includes(marker)) pids.push(pid);
  }
  return pids;
}

async function killAll(pids: number[]): Promise<void> {
  for (const pid of pids) await platform.killTree(pid).catch(() => {});
}

Deno.test("a second agent on the same data dir is refused, naming the holder", async () => {
  await using dir = await tempDir();
  const config = await writeConfig(dir.path, fixtureScript("rates", "print_hang.ts", "1"));
  await using first = new AgentProcess(config);
  await first.running("rates");
  const second = await agentCli("run", "--config", config);
  assert.equal(second.code, 1);
  assert.match(
    second.stderr,
    new RegExp(`already running with data dir .*data \\(pid ${first.child.pid}, started 20\\d\\d-`),
  );
  // The first one is untouched.
  assert.equal((await first.status()).scripts[0].state, "running");
});

Deno.test("SIGTERM stops every script's tree, releases the lock and exits 0", async () => {
  await using dir = await tempDir();
  const config = await writeConfig(
    dir.path,
    fixtureScript("tree", "tree.ts") + fixtureScript("stubborn", "ignore_term.ts"),
  );
  const agent = new AgentProcess(config);
  const { tree, stubborn } = await agent.running("tree", "stubborn");
  const [, grandchild] = await agent.logMatch("tree", /out (\d+)$/m);
  // Only once it printed "ready" does it ignore SIGTERM.
  await agent.logMatch("stubborn", /out ready/);
  agent.child.kill("SIGTERM");
  assert.equal((await agent.child.status).code, 0);
  await agent[Symbol.asyncDispose]();
  for (const pid of [tree.pid!, stubborn.pid!, Number(grandchild)]) {
    assert.equal(await alive(pid), false, `pid ${pid} outlived the agent`);
  }
  assert.match(await agent.stderr(), /ignored SIGTERM for 2s; killing its tree/);
  // The lock is free again: a new agent starts.
  await using again = new AgentProcess(config);
  await again.running("tree", "stubborn");
});

Deno.test("a second SIGTERM kills every tree at once instead of waiting stop_timeout", async () => {
  await using dir = await tempDir();
  const config = await writeConfig(
    dir.path,
    fixtureScript("stubborn", "ignore_term.ts") + `stop_timeout = "10m"\n`,
  );
  const agent = new AgentProcess(config);
  const { stubborn } = await agent.running("stubborn");
  await agent.logMatch("stubborn", /out ready/);
  agent.child.kill("SIGTERM");
  await agent.logMatch("stubborn", /ignored SIGTERM/);
  // Press "Ctrl-C" again (a signal within 500 ms of the first counts as its echo).
  let exited = false;
  agent.child.status.then(() => (exited = true));
  for (let i = 0; i < 120 && !exited; i++) {
    await new Promise((r) => setTimeout(r, 250));
    try {
      agent.child.kill("SIGTERM");
    } catch {
      // it has just exited
    }
  }
  await agent[Symbol.asyncDispose]();
  assert.ok(exited, "the agent did not exit after the second signal");
  assert.equal(await alive(stubborn.pid!), false);
  assert.match(await agent.stderr(), /Stopping at once: killing every script's process tree/);
});

Deno.test("a SIGKILLed agent leaves no script running; the next one reaps the leftovers", async () => {
  await using dir = await tempDir();
  const config = await writeConfig(dir.path, fixtureScript("tree", "tree.ts"));
  const agent = new AgentProcess(config);
  const { tree } = await agent.running("tree");
  const grandchild = Number((await agent.logMatch("tree", /out (\d+)$/m))[1]);
  agent.child.kill("SIGKILL");
  await agent[Symbol.asyncDispose]();
  // The script itself dies with the agent (parent-death signal)...
  // Deadlines with room for a machine busy with the other suites.
  await until("the script to die with its agent", async () => !(await alive(tree.pid!)), 30_000);
  try {
    // ...and what it left in its process group is stopped by the next agent.
    await using next = new AgentProcess(config);
    const again = await next.running("tree");
    assert.notEqual(again.tree.pid, tree.pid);
    await until(
      "the orphaned grandchild to be reaped",
      async () => !(await alive(grandchild)),
      30_000,
    );
  } finally {
    await killAll([grandchild]);
  }
});

Deno.test("ten concurrent `once` runs start a script exactly once", async () => {
  await using dir = await tempDir();
  const marker = `marker-${crypto.randomUUID()}`;
  const config = await writeConfig(dir.path, fixtureScript("rates", "print_hang.ts", "1", marker));
  try {
    const runs = await Promise.all(
      Array.from({ length: 10 }, () => agentCli("once", "--json", "--config", config)),
    );
    const reports = runs.map((r) => JSON.parse(r.stdout));
    const started = reports.filter((r) => r.checks[0].message.startsWith("was not running"));
    assert.equal(started.length, 1, "exactly one pass started it");
    assert.deepEqual(runs.map((r) => r.code).sort(), [0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    const pids = await processesWith(marker);
    assert.deepEqual(pids, [started[0].checks[0].pid]);
    const { record } = await readPidRecord(join(dir.path, "data", "pids"), "rates");
    assert.equal(record?.pid, pids[0]);
    assert.equal(record?.owner, "once");
    // The others saw it running, for a time a person reads; the agent's own rows name no
    // process: a `once` pass is not a running agent.
    const seen = reports.find((r) => r !== started[0]).checks[0];
    assert.match(seen.message, /^running for (\d+ms|\d+(\.\d)?s) \(started by once\)$/);
    const own = reports.flatMap((r) => r.checks).filter((c) => c.script === "agent");
    assert.ok(own.length > 0);
    assert.ok(own.every((c) => c.pid === null && c.state === null), JSON.stringify(own));
  } finally {
    await killAll(await processesWith(marker));
  }
});

Deno.test("once stops what a dead copy left in its process group before it starts a new one", async () => {
  await using dir = await tempDir();
  const marker = `marker-${crypto.randomUUID()}`;
  const config = await writeConfig(dir.path, fixtureScript("tree", "tree.ts", marker));
  const log = join(dir.path, "data", "logs", "tree.log");
  const grandchildOf = async (pid: number) =>
    await until(`the grandchild of ${pid} in the log`, async () => {
      const lines = (await Deno.readTextFile(log).catch(() => "")).split("\n");
      const found = lines.map((l) => /(\d+)$/.exec(l)?.[1]).filter((p) => p !== undefined);
      const latest = Number(found.at(-1));
      return latest && latest !== pid && await alive(latest) ? latest : undefined;
    });
  const survivors: number[] = [];
  try {
    const first = JSON.parse((await agentCli("once", "--json", "--config", config)).stdout);
    const top = first.checks[0].pid as number;
    const worker = await grandchildOf(top);
    survivors.push(top, worker);
    // The script's top process dies (as with its agent); its worker lives on in its group.
    Deno.kill(top, "SIGKILL");
    await until("the top process gone", async () => !(await alive(top)));
    assert.ok(await alive(worker), "the worker survived its parent");

    const second = JSON.parse((await agentCli("once", "--json", "--config", config)).stdout);
    assert.match(second.checks[0].message, /^was not running; started/);
    assert.equal(await alive(worker), false, "the survivor was stopped before the new copy");
    const tops = await processesWith(marker);
    assert.deepEqual(tops, [second.checks[0].pid], "one copy");
    survivors.push(...tops, await grandchildOf(tops[0]));
  } finally {
    await killAll(await processesWith(marker));
    for (const pid of survivors) await platform.killTree(pid).catch(() => {});
  }
});

Deno.test("a SIGKILLed daemon takes its scripts' whole trees with it; once then starts one copy", async () => {
  await using dir = await tempDir();
  const marker = `marker-${crypto.randomUUID()}`;
  const config = await writeConfig(dir.path, fixtureScript("tree", "tree.ts", marker));
  const log = join(dir.path, "data", "logs", "tree.log");
  const pids: number[] = [];
  try {
    await using agent = new AgentProcess(config);
    const { tree } = await agent.running("tree");
    const worker = await until("the worker's pid in the log", async () => {
      const found = /^(?:.*\s)?(\d+)$/m.exec(await Deno.readTextFile(log).catch(() => ""));
      return found ? Number(found[1]) : undefined;
    });
    pids.push(tree.pid!, worker);
    agent.child.kill("SIGKILL");
    await agent.child.status;
    // Not only the script's own process (pdeathsig): the worker it started goes too.
    await until("the script's top process gone", async () => !(await alive(tree.pid!)));
    await until("the worker gone with the agent", async () => !(await alive(worker)), 10_000);

    const once = JSON.parse((await agentCli("once", "--json", "--config", config)).stdout);
    assert.match(once.checks[0].message, /^was not running; started/);
    assert.deepEqual(await processesWith(marker), [once.checks[0].pid]);
  } finally {
    await killAll(await processesWith(marker));
    for (const pid of pids) await platform.killTree(pid).catch(() => {});
  }
});

Deno.test("the daemon adopts a script `once` started instead of starting a second copy", async () => {
  await using dir = await tempDir();
  const marker = `marker-${crypto.randomUUID()}`;
  const config = await writeConfig(dir.path, fixtureScript("rates", "print_hang.ts", "1", marker));
  try {
    const once = await agentCli("once", "--json", "--config", config);
    assert.equal(once.code, 1, once.stderr);
    const pid = JSON.parse(once.stdout).checks[0].pid;
    await using agent = new AgentProcess(config);
    const { rates } = await agent.running("rates");
    assert.equal(rates.pid, pid);
    assert.equal(rates.adopted, true);
    assert.deepEqual(await processesWith(marker), [pid]);
    // With the daemon running, `once` reports the daemon's view and starts nothing.
    const report = await agentCli("once", "--json", "--config", config);
    assert.equal(report.code, 0);
    assert.equal(JSON.parse(report.stdout).source, "daemon");
  } finally {
    await killAll(await processesWith(marker));
  }
});

Deno.test("once reports a script that cannot start as critical and exits 2", async () => {
  await using dir = await tempDir();
  const config = await writeConfig(
    dir.path,
    `[scripts.ghost]\ncommand = ["no-such-program-xyz"]\n`,
  );
  const run = await agentCli("once", "--config", config);
  assert.equal(run.code, 2);
  assert.match(
    run.stdout,
    /ghost\s+process\s+CRITICAL\s+failed\s+-\s+not running, and cannot start: command "no-such-program-xyz" not found/,
  );
});

Deno.test("once runs the health checks of a running script and folds them into its exit code", async () => {
  await using dir = await tempDir();
  const marker = `marker-${crypto.randomUUID()}`;
  const abort = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: abort.signal, onListen() {} },
    () => new Response("down", { status: 503 }),
  );
  const heartbeat = join(dir.path, "rates.heartbeat");
  const config = await writeConfig(
    dir.path,
    fixtureScript("rates", "print_hang.ts", "1", marker) +
      `heartbeat_timeout = "1h"\nheartbeat_file = "${heartbeat}"\n` +
      `[[scripts.rates.probes]]\nname = "api"\nkind = "http"\n` +
      `url = "http://127.0.0.1:${server.addr.port}/"\n`,
  );
  try {
    assert.equal((await agentCli("once", "--config", config)).code, 1, "first pass starts it");
    const second = await agentCli("once", "--json", "--config", config);
    assert.equal(second.code, 2, second.stderr);
    const rows = JSON.parse(second.stdout).checks.map((
      c: { check: string; severity: string; message: string },
    ) => [c.check, c.severity, c.message]);
    assert.deepEqual(rows.slice(0, 3), [
      ["process", "ok", rows[0][2]],
      ["heartbeat", "critical", `heartbeat file ${heartbeat} does not exist`],
      ["probe:api", "critical", "HTTP 503 (expected 200)"],
    ]);
    await Deno.writeTextFile(heartbeat, "");
    const third = JSON.parse((await agentCli("once", "--json", "--config", config)).stdout);
    assert.equal(third.checks[1].severity, "ok");
  } finally {
    abort.abort();
    await server.finished;
    await killAll(await processesWith(marker));
  }
});

Deno.test("status, stop, start and restart work through the CLI", async () => {
  await using dir = await tempDir();
  const config = await writeConfig(dir.path, fixtureScript("rates", "print_hang.ts", "1"));
  await using agent = new AgentProcess(config);
  const { rates } = await agent.running("rates");

  const table = await agentCli("status", "--config", config);
  assert.equal(table.code, 0, table.stderr);
  assert.match(
    table.stdout,
    /^NAME\s+STATE\s+HEALTH\s+PID\s+UPTIME\s+RESTARTS\s+MEMORY\s+LAST EXIT\s+NOTE$/m,
  );
  assert.match(table.stdout, new RegExp(`^rates\\s+running\\s+-\\s+${rates.pid}\\s`, "m"));
  // The store: its size and its oldest record (the script's first event), and how long it keeps.
  assert.match(
    table.stdout,
    /^store [\d.]+ [KM]?B, oldest record \S+ old \(finished messages kept 14d\)$/m,
  );

  const stop = await agentCli("stop", "rates", "--config", config);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, /^rates\s+stopped\s/m);
  assert.equal(await alive(rates.pid!), false);

  assert.equal((await agentCli("start", "rates", "--config", config)).code, 0);
  const restarted = await agentCli("restart", "rates", "--config", config);
  assert.equal(restarted.code, 0);
  const json = JSON.parse((await agentCli("status", "--json", "--config", config)).stdout);
  assert.equal(json.scripts[0].state, "running");
  assert.notEqual(json.scripts[0].pid, rates.pid);

  const unknown = await agentCli("restart", "nope", "--config", config);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /No script named "nope" in the config \(known: rates\)/);
  assert.doesNotMatch(unknown.stderr, /\/api\/|POST/, "no internal path in the message");
});

Deno.test("status shows a scheduled script's next run and that it never ran; no health without checks", async () => {
  await using dir = await tempDir();
  const config = await writeConfig(
    dir.path,
    fixtureScript("rates", "print_hang.ts", "1") +
      `[scripts.nightly]\ncommand = ["${Deno.execPath()}", "eval", "0"]\n` +
      `schedule = "0 3 * * *"\n\n`,
  );
  await using agent = new AgentProcess(config);
  await agent.running("rates");
  const table = await agentCli("status", "--config", config);
  assert.equal(table.code, 0, table.stderr);
  const nightly = table.stdout.split("\n").find((line) => line.startsWith("nightly"));
  assert.match(
    nightly ?? "",
    /\snever ran\s+next run \d\d:\d\d \(in \d+(\.\d)?[hms]( \d+[ms])?; 0 3 \* \* \*\)$/,
  );
  assert.match(table.stdout, /^rates\s+running\s+-\s+\d+\s/m, "no health badge without checks");
  const page = await (await fetch(`http://127.0.0.1:${await agent.ready()}/`)).text();
  assert.doesNotMatch(page, /health-unknown/);
  assert.match(page, /never ran/);
});

Deno.test("restart all, stop and start by a glob act on every script they name", async () => {
  await using dir = await tempDir();
  const scripts = ["rates_a", "rates_b", "token"].map((name) =>
    fixtureScript(name, "print_hang.ts", "1")
  ).join("");
  const config = await writeConfig(dir.path, scripts);
  await using agent = new AgentProcess(config);
  const before = await agent.running("rates_a", "rates_b", "token");

  const restarted = await agentCli("restart", "all", "--config", config);
  assert.equal(restarted.code, 0, restarted.stderr);
  const after = await agent.running("rates_a", "rates_b", "token");
  for (const name of ["rates_a", "rates_b", "token"] as const) {
    assert.notEqual(after[name].pid, before[name].pid, `${name} was restarted`);
    assert.match(restarted.stdout, new RegExp(`^${name}\\s+running\\s`, "m"));
  }

  const stopped = await agentCli("stop", "rates_*", "--config", config);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stdout, /^rates_a\s+stopped\s/m);
  assert.match(stopped.stdout, /^rates_b\s+stopped\s/m);
  assert.doesNotMatch(stopped.stdout, /^token/m, "only what the glob names is listed");
  const status = await agent.status();
  const state = (name: string) => status.scripts.find((s) => s.name === name)?.state;
  assert.deepEqual([state("rates_a"), state("rates_b"), state("token")], [
    "stopped",
    "stopped",
    "running",
  ]);

  assert.equal((await agentCli("start", "rates_?", "--config", config)).code, 0);
  await agent.running("rates_a", "rates_b");
  const none = await agentCli("stop", "dock_*", "--config", config);
  assert.equal(none.code, 1);
  assert.match(
    none.stderr,
    /No script matches "dock_\*" in the config \(known: rates_a, rates_b, token\)/,
  );
});

Deno.test("logs prints the last lines of a script's log", async () => {
  await using dir = await tempDir();
  const config = await writeConfig(dir.path, fixtureScript("rates", "print_hang.ts", "5"));
  await using agent = new AgentProcess(config);
  await agent.running("rates");
  const logFile = join(agent.dataDir, "logs", "rates.log");
  await agent.logMatch("rates", /to stderr/);
  const logs = await agentCli("logs", "rates", "-n", "3", "--config", config);
  assert.equal(logs.code, 0, logs.stderr);
  const lines = logs.stdout.trimEnd().split("\n");
  const file = (await Deno.readTextFile(logFile)).trimEnd().split("\n");
  assert.equal(file.length, 6);
  assert.deepEqual(lines, file.slice(-3));
  // stdout's own order is kept (stderr may land anywhere between its lines).
  assert.deepEqual(
    file.filter((l) => / out /.test(l)).map((l) => l.split(" out ")[1]),
    ["line 1", "line 2", "line 3", "line 4", "line 5"],
  );
});

Deno.test("validate lists every error with its line and exits 2", async () => {
  await using dir = await tempDir();
  const config = await writeConfig(
    dir.path,
    `[scripts.rates]\ncommand = ["python3"]\nstop_timeout = "soon"\n\n` +
      `[scripts.rates.restart]\nmax_delay = 5\n`,
  );
  const run = await agentCli("validate", "--config", config);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /scriptmon\.toml:15: scripts\.rates\.stop_timeout: expected a duration/);
  assert.match(run.stderr, /scriptmon\.toml:18: scripts\.rates\.restart\.max_delay: expected/);
  assert.equal((await agentCli("validate", "--config", join(dir.path, "missing.toml"))).code, 2);
});

Deno.test("validate lists cross-field errors with the others at once, and --json prints them", async () => {
  await using dir = await tempDir();
  const config = await writeConfig(
    dir.path,
    `[scripts.rates]\ncommand = ["python3"]\nstop_timeout = "soon"\n\n` +
      `[scripts.rates.restart]\nmin_delay = "10s"\nmax_delay = "1s"\n`,
  );
  const run = await agentCli("validate", "--config", config);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /scripts\.rates\.stop_timeout: expected a duration/);
  assert.match(
    run.stderr,
    /scriptmon\.toml:19: scripts\.rates\.restart\.max_delay: expected max_delay >= min_delay \(10s\), got "1s"/,
  );
  const json = await agentCli("validate", "--json", "--config", config);
  assert.equal(json.code, 2);
  const answer = JSON.parse(json.stdout);
  assert.equal(answer.ok, false);
  assert.deepEqual(answer.errors.map((e: { path: string; line: number }) => [e.path, e.line]), [
    ["scripts.rates.stop_timeout", 15],
    ["scripts.rates.restart.max_delay", 19],
  ]);
});
