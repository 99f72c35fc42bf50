/**
 * The Windows lane's suite: the agent from the zip a person drops, as a real
 * Windows program with real `.cmd` and `deno.exe` children. Run by
 * scripts/windows_lane.sh under Wine (`deno.exe test tests/windows/lane.ts`);
 * what Wine cannot show is listed in the README and unit-tested on the exact
 * calls instead (agent/platform/windows_test.ts).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  agentCli,
  alive,
  argv,
  DENO,
  endTask,
  endTree,
  fixture,
  laneTest,
  LAUNCHER,
  lit,
  SLEEP,
  tempDir,
  threeLevelTree,
  treePids,
  until,
  WinAgent,
  writeConfig,
} from "./_win_agent.ts";

laneTest(
  "validate takes a config Notepad saved (BOM, CRLF) and names the line of a bad value",
  async () => {
    await using dir = await tempDir();
    const good = await writeConfig(
      dir.path,
      `[scripts.a]\ncommand = ${argv(DENO, "eval", SLEEP)}\n`,
    );
    const text = await Deno.readTextFile(good);
    await Deno.writeTextFile(good, "\uFEFF" + text.replaceAll("\n", "\r\n"));
    const ok = await agentCli("validate", "--config", good);
    assert.equal(ok.code, 0, ok.stderr);
    const bad = join(dir.path, "bad.toml");
    const badText = text.replace('stop_timeout = "20s"', 'stop_timeout = "soon"');
    await Deno.writeTextFile(bad, "\uFEFF" + badText.replaceAll("\n", "\r\n"));
    const line = badText.split("\n").findIndex((l) => l.includes('"soon"')) + 1;
    const refused = await agentCli("validate", "--config", bad);
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      new RegExp(`bad\\.toml:${line}: defaults\\.stop_timeout: .*"soon"`),
    );
  },
);

laneTest(
  "run starts a .cmd script and a python.cmd found on PATH by PATHEXT; status lists both",
  async () => {
    await using dir = await tempDir();
    const bin = join(dir.path, "bin");
    await Deno.mkdir(bin);
    await fixture(
      bin,
      "python.cmd",
      `@"${DENO}" eval "console.log('python stand-in', Deno.args); ${SLEEP}" -- %*\n`,
    );
    await fixture(dir.path, "hello.cmd", `@echo hello from cmd\n@"${DENO}" eval "${SLEEP}"\n`);
    const config = await writeConfig(
      dir.path,
      `[scripts.py]\ncommand = ["python", "-u", "monitor.py"]\ncwd = ${lit(dir.path)}\n` +
        `env = { PATH = ${lit(`${bin};${Deno.env.get("PATH")}`)} }\n\n` +
        `[scripts.hello]\ncommand = ["cmd.exe", "/d", "/c", "hello.cmd"]\ncwd = ${lit(dir.path)}\n`,
    );
    await using agent = new WinAgent(config);
    await agent.script("py", "running", (s) => s.state === "running");
    await agent.script("hello", "running", (s) => s.state === "running");
    await agent.logMatch("py", /python stand-in/);
    await agent.logMatch("hello", /hello from cmd/);
    const table = await agentCli("status", "--config", config);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^hello\s+running/m);
    assert.match(table.stdout, /^py\s+running/m);
  },
);

laneTest("a script's child has no console window (GetConsoleWindow is 0)", async () => {
  // Wine gives no process a console window, so this cannot fail here; on Windows it proves
  // CREATE_NO_WINDOW (windowsHide). windows_test.ts checks the exact spawn options.
  await using dir = await tempDir();
  const probe = `const k = Deno.dlopen("kernel32.dll", { GetConsoleWindow: { parameters: [], ` +
    `result: "pointer" } }); console.log("console window " + ` +
    `Deno.UnsafePointer.value(k.symbols.GetConsoleWindow())); ${SLEEP}`;
  const config = await writeConfig(
    dir.path,
    `[scripts.probe]\ncommand = ${argv(DENO, "eval", probe)}\n`,
  );
  await using agent = new WinAgent(config);
  const [, window] = await agent.logMatch("probe", /console window (\d+)/);
  assert.equal(window, "0");
});

laneTest("a crashing cmd script is restarted with backoff", async () => {
  await using dir = await tempDir();
  const config = await writeConfig(
    dir.path,
    `[scripts.crash]\ncommand = ["cmd.exe", "/d", "/c", "echo crashing & exit 3"]\n` +
      `[scripts.crash.restart]\nmin_delay = "200ms"\nmax_delay = "1s"\n`,
  );
  await using agent = new WinAgent(config);
  const row = await agent.script("crash", "restarted twice", (s) => (s.restarts ?? 0) >= 2);
  assert.ok(["backoff", "starting", "running", "crash-looping"].includes(row.state), row.state);
  await agent.logMatch("crash", /crashing[\s\S]*crashing/);
});

laneTest("stop ends a three-level tree (cmd → deno → deno) and leaves nothing", async () => {
  await using dir = await tempDir();
  const config = await writeConfig(dir.path, `[scripts.tree]\n${await threeLevelTree(dir.path)}`);
  await using agent = new WinAgent(config);
  const row = await agent.script("tree", "running", (s) => s.state === "running" && !!s.pid);
  const pids = [row.pid!, ...await treePids(dir.path)];
  for (const pid of pids) assert.ok(await alive(pid), `pid ${pid} runs before the stop`);
  const stop = await agentCli("stop", "tree", "--config", config);
  assert.equal(stop.code, 0, stop.stderr);
  await agent.script("tree", "stopped", (s) => s.state === "stopped");
  for (const pid of pids) {
    await until(`pid ${pid} gone`, async () => (await alive(pid)) ? undefined : true);
  }
});

laneTest(
  "the agent ended hard (TerminateProcess) leaves no script process: the job ends the tree",
  async () => {
    await using dir = await tempDir();
    const config = await writeConfig(dir.path, `[scripts.tree]\n${await threeLevelTree(dir.path)}`);
    await using agent = new WinAgent(config);
    const row = await agent.script("tree", "running", (s) => s.state === "running" && !!s.pid);
    const pids = [row.pid!, ...await treePids(dir.path)];
    const { pid: agentPid } = await agent.ready();
    assert.equal(await endTask(agentPid), 0, "taskkill /F of the agent");
    await until("the agent gone", async () => (await alive(agentPid)) ? undefined : true);
    for (const pid of pids) {
      await until(`script pid ${pid} gone`, async () => (await alive(pid)) ? undefined : true);
    }
  },
);

laneTest("a second agent on the same data dir is refused, naming the holder", async () => {
  await using dir = await tempDir();
  const config = await writeConfig(
    dir.path,
    `[scripts.a]\ncommand = ${argv(DENO, "eval", SLEEP)}\n`,
  );
  await using agent = new WinAgent(config);
  const { pid } = await agent.ready();
  const second = await agentCli("run", "--config", config);
  assert.notEqual(second.code, 0);
  assert.match(second.stderr, new RegExp(`pid ${pid}`));
});

laneTest(
  "once exits 2 for a script that cannot start, 1 when it started one, 0 when all run",
  async () => {
    await using dir = await tempDir();
    const missing = await writeConfig(dir.path, `[scripts.gone]\ncommand = ["no-such-program"]\n`);
    const critical = await agentCli("once", "--config", missing);
    assert.equal(critical.code, 2, critical.stdout + critical.stderr);
    assert.match(critical.stdout, /no-such-program/);

    await using other = await tempDir();
    // once starts a script through cmd.exe (its output goes to the log): no `"` in its arguments.
    const script = await fixture(
      other.path,
      "a.ts",
      `console.log("started by once");\n${SLEEP};\n`,
    );
    const config = await writeConfig(
      other.path,
      `[scripts.a]\ncommand = ${argv(DENO, "run", script)}\n`,
    );
    const first = await agentCli("once", "--config", config);
    assert.equal(first.code, 1, first.stdout + first.stderr);
    const second = await agentCli("once", "--json", "--config", config);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    // What once started outlives it by design: end it here, by its recorded pid.
    const record = JSON.parse(
      await Deno.readTextFile(join(other.path, "data", "pids", "a.pid.json")),
    );
    await new Deno.Command("taskkill.exe", {
      args: ["/PID", String(record.pid), "/T", "/F"],
      stdout: "null",
      stderr: "null",
    }).output();
  },
);

laneTest(
  "PID records after a restart: what once started is adopted, a reused pid is not trusted",
  async () => {
    await using dir = await tempDir();
    const script = await fixture(dir.path, "a.ts", `console.log("a up");\n${SLEEP};\n`);
    // A process that is not b, whose pid b's stale record names (as if Windows reused it).
    const bystander = new Deno.Command(DENO, { args: ["eval", SLEEP], stdout: "null" }).spawn();
    try {
      const config = await writeConfig(
        dir.path,
        `[scripts.a]\ncommand = ${argv(DENO, "run", script)}\n\n` +
          `[scripts.b]\ncommand = ${argv(DENO, "eval", SLEEP)}\nenabled = false\n`,
      );
      const once = await agentCli("once", "--config", config);
      assert.equal(once.code, 1, once.stdout + once.stderr);
      const pids = join(dir.path, "data", "pids");
      const a = JSON.parse(await Deno.readTextFile(join(pids, "a.pid.json")));
      // b's record from an agent that died, whose pid Windows has since given to the bystander.
      await Deno.writeTextFile(
        join(pids, "b.pid.json"),
        JSON.stringify({
          ...a,
          script: "b",
          pid: bystander.pid,
          startTime: "2020-01-01T00:00:00.000Z",
          argv: [DENO, "eval", SLEEP],
          owner: "daemon",
          logPath: undefined,
        }),
      );
      await Deno.writeTextFile(
        config,
        (await Deno.readTextFile(config)).replace("enabled = false\n", ""),
      );

      await using agent = new WinAgent(config);
      const adopted = await agent.script("a", "adopted", (s) => s.state === "running");
      assert.equal(adopted.pid, a.pid, "a kept the pid once gave it");
      assert.match(adopted.reason ?? "", /adopted \(started by once/);
      const fresh = await agent.script("b", "running", (s) => s.state === "running" && !!s.pid);
      assert.notEqual(fresh.pid, bystander.pid, "a pid with another start time is not b");
      assert.ok(await alive(bystander.pid), "the process behind the reused pid is left alone");
      const stop = await agentCli("stop", "a", "--config", config);
      assert.equal(stop.code, 0, stop.stderr);
      await until(`adopted pid ${a.pid} gone`, async () => (await alive(a.pid)) ? undefined : true);
    } finally {
      bystander.kill();
      await bystander.status;
    }
  },
);

laneTest("logs -f reads every line across rotations while the script writes", async () => {
  await using dir = await tempDir();
  const lines = 1500;
  const go = join(dir.path, "go");
  const script = await fixture(
    dir.path,
    "count.ts",
    `console.log("ready");\n` +
      `for (let i = 0; i < 1200 && !(await Deno.stat(${
        JSON.stringify(go)
      }).catch(() => null)); i++) {\n` +
      `  await new Promise((r) => setTimeout(r, 50));\n}\n` +
      `for (let i = 1; i <= ${lines}; i++) console.log("line " + String(i).padStart(5, "0") + " " + "x".repeat(40));\n` +
      `${SLEEP};\n`,
  );
  const config = await writeConfig(
    dir.path,
    `[scripts.count]\ncommand = ${argv(DENO, "run", "-A", script)}\n` +
      `[scripts.count.log]\nmax_size = "8KB"\nkeep = 100\n`,
  );
  await using agent = new WinAgent(config);
  await agent.logMatch("count", /ready/);
  const follower = new Deno.Command(LAUNCHER, {
    args: ["logs", "count", "-f", "-n", "1", "--config", config],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const seen: string[] = [];
  const reading = (async () => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of follower.stdout) {
      const text = rest + decoder.decode(chunk, { stream: true });
      const parts = text.split(/\r?\n/);
      rest = parts.pop() ?? "";
      seen.push(...parts);
    }
  })();
  try {
    await until("logs -f printing", () => seen.some((l) => l.includes("ready")) || undefined);
    await Deno.writeTextFile(go, "");
    await until(
      `line ${lines} from logs -f`,
      () => seen.some((l) => l.includes(`line ${String(lines).padStart(5, "0")}`)) || undefined,
    );
  } finally {
    await endTree(follower);
    await reading.catch(() => {});
  }
  const numbers = seen.map((l) => /line (\d+)/.exec(l)?.[1]).filter((n) => n !== undefined)
    .map(Number);
  const logs = join(dir.path, "data", "logs");
  assert.deepEqual(
    numbers,
    Array.from({ length: lines }, (_, i) => i + 1),
    `every line once, in order; read ${jumps(numbers)}; the files held ${linesByFile(logs)}`,
  );
  const rotated = [...Deno.readDirSync(logs)]
    .filter((e) => /^count\.\d{8}T\d{6}\.\d{3}Z(-\d+)?\.log$/.test(e.name));
  assert.ok(rotated.length >= 5, `rotated ${rotated.length} times`);
});

laneTest(
  "a script's webhook post is relayed to the receiver exactly once; its heartbeat reaches the local API",
  async () => {
    await using dir = await tempDir();
    const posts: { key: string | null; body: { id?: string; text?: string } }[] = [];
    const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      posts.push({ key: req.headers.get("idempotency-key"), body: await req.json() });
      return new Response("ok");
    });
    try {
      const script = await fixture(
        dir.path,
        "post.ts",
        `const ping = Deno.env.get("SCRIPTMON_PING_URL");\n` +
          `await (await fetch(ping, { method: "POST" })).body?.cancel();\n` +
          `const res = await fetch(new URL("/relay/ops", ping), { method: "POST", ` +
          `body: JSON.stringify({ text: "dock 4: rate 120/h" }) });\n` +
          `console.log("relay answered " + res.status + " " + await res.text());\n${SLEEP};\n`,
      );
      const config = await writeConfig(
        dir.path,
        `[scripts.post]\ncommand = ${
          argv(DENO, "run", "-A", script)
        }\nheartbeat_timeout = "10m"\n\n` +
          `[webhooks.ops]\nkind = "slack"\nurl = "http://127.0.0.1:${receiver.addr.port}/hook"\n`,
      );
      await using agent = new WinAgent(config);
      await agent.logMatch("post", /relay answered 202/);
      await until("the post at the receiver", () => posts.length > 0 || undefined);
      const row = await agent.script("post", "pinged", (s) => !!s.heartbeat?.lastPingAt);
      assert.ok(row.heartbeat?.lastPingAt);
      const sent = await until("the message marked sent", async () => {
        const list = await agentCli("notifications", "--json", "--config", config);
        const messages = JSON.parse(list.stdout) as { id: string; state: string }[];
        return messages.find((m) => m.state === "sent");
      });
      assert.equal(posts.length, 1, "one request");
      assert.equal(posts[0].body.text, "dock 4: rate 120/h");
      assert.equal(posts[0].key, sent.id, "the message id as Idempotency-Key");
    } finally {
      await receiver.shutdown();
    }
  },
);

const COLLECTOR = Deno.env.get("SCRIPTMON_LANE_COLLECTOR");

laneTest(
  "the agent links to a Linux collector on loopback: online there, its script running",
  async () => {
    const { url, apiToken, agentToken } = JSON.parse(COLLECTOR!) as Record<string, string>;
    const api = async <T>(path: string): Promise<T> => {
      const res = await fetch(new URL(path, url), {
        headers: { authorization: `Bearer ${apiToken}` },
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
      return await res.json() as T;
    };
    await using dir = await tempDir();
    const config = await writeConfig(
      dir.path,
      `[scripts.a]\ncommand = ${argv(DENO, "eval", SLEEP)}\n\n` +
        `[collector]\nurl = "${url}"\ntoken = "${agentToken}"\nheartbeat_interval = "1s"\n`,
      `host = "winlane"`,
    );
    await using agent = new WinAgent(config);
    await agent.script("a", "running", (s) => s.state === "running");
    await until("winlane online at the collector", async () => {
      const { agents } = await api<{ agents: { host: string; online: boolean }[] }>(
        "/api/v1/agents?site=WIN1",
      );
      return agents.find((a) => a.host === "winlane")?.online || undefined;
    });
    await until("a running at the collector", async () => {
      const { scripts } = await api<{ scripts: { script: string; state: string }[] }>(
        "/api/v1/scripts?host=winlane",
      );
      return scripts.some((s) => s.script === "a" && s.state === "running") || undefined;
    });
  },
  { ignore: COLLECTOR === undefined },
);

laneTest(
  "install registers the logon task through schtasks /XML; uninstall deletes it",
  async () => {
    // Wine keeps registered tasks as files in %windir%\system32\tasks. Its schtasks has no
    // /Query (it answers 0 for any task) and it stores no logon trigger or command, so what
    // `status` reads back and the task's action are checked on the calls
    // (agent/install/installer_test.ts), not here.
    const task = join(
      Deno.env.get("windir") ?? "C:\\windows",
      "system32",
      "tasks",
      "scriptmon-agent",
    );
    await using dir = await tempDir();
    const config = await writeConfig(
      dir.path,
      `[scripts.a]\ncommand = ${argv(DENO, "eval", SLEEP)}\n`,
    );
    const installed = await agentCli("install", "--config", config);
    try {
      assert.equal(installed.code, 0, installed.stdout + installed.stderr);
      assert.match(installed.stdout, /installed: Task Scheduler task scriptmon-agent/);
      const xml = await Deno.readFile(task).then((b) =>
        new TextDecoder(b[1] === 0 || b[0] === 0xff ? "utf-16le" : "utf-8").decode(b)
      );
      // What Wine keeps of the task it parsed (it drops the logon trigger and the Exec command).
      assert.match(xml, /<URI>\\scriptmon-agent<\/URI>/);
      assert.match(xml, /<Hidden>true<\/Hidden>/);
      assert.match(xml, /<ExecutionTimeLimit>PT0S<\/ExecutionTimeLimit>/);
      assert.match(xml, /<MultipleInstancesPolicy>IgnoreNew<\/MultipleInstancesPolicy>/);
    } finally {
      const removed = await agentCli("uninstall");
      assert.equal(removed.code, 0, removed.stdout + removed.stderr);
    }
    assert.equal(await Deno.stat(task).then(() => true, () => false), false, "the task is deleted");
  },
);

// Last: two agents and a killed holder leave Wine busy for a while.
laneTest(
  'singleton = "machine": two agents with two data folders run the script once; End task on the holder, the other takes it over',
  async () => {
    await using dir = await tempDir();
    const name = `tok${Date.now().toString(36)}`;
    const script = `[scripts.${name}]\ncommand = ${
      argv(DENO, "eval", SLEEP)
    }\nsingleton = "machine"\n`;
    const configs: string[] = [];
    for (const user of ["ann", "bob"]) {
      await Deno.mkdir(join(dir.path, user));
      configs.push(await writeConfig(join(dir.path, user), script));
    }
    await using a = new WinAgent(configs[0]);
    await using b = new WinAgent(configs[1]);
    const rows = await until("one agent running the script, the other waiting", async () => {
      const [ra, rb] = [
        (await a.scripts()).find((s) => s.name === name),
        (await b.scripts()).find((s) => s.name === name),
      ];
      if (ra?.state === "running" && rb?.state === "stopped") return { holder: a, waiter: b, rb };
      if (rb?.state === "running" && ra?.state === "stopped") {
        return { holder: b, waiter: a, rb: ra };
      }
      return undefined;
    });
    // Windows cannot name a mutex's owner.
    assert.match(
      rows.rb.reason ?? "",
      /waiting for the machine claim \(held by another agent of this machine\)/,
    );
    const { pid: holderPid } = await rows.holder.ready();
    assert.equal(await endTask(holderPid), 0, "taskkill /F of the holder");
    // Windows hands the abandoned mutex to the next agent that asks.
    await rows.waiter.script(name, "running on the other agent", (s) => s.state === "running");
  },
);

/** Where a run of numbers skips or repeats ("1–1274, 1373–1500"), to say how lines went missing. */
function jumps(numbers: number[]): string {
  const runs: string[] = [];
  let start = 0;
  for (let i = 1; i <= numbers.length; i++) {
    if (i === numbers.length || numbers[i] !== numbers[i - 1] + 1) {
      runs.push(`${numbers[start]}–${numbers[i - 1]}`);
      start = i;
    }
  }
  return runs.join(", ") || "none";
}

/** Each log file's first and last line numbers, in name order. */
function linesByFile(dir: string): string {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort().map((name) => {
    const text = Deno.readTextFileSync(join(dir, name));
    const numbers = [...text.matchAll(/line (\d+)/g)].map((m) => Number(m[1]));
    return `${name}: ${jumps(numbers)}`;
  }).join("; ");
}
