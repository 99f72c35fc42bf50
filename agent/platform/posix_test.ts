import assert from "node:assert/strict";
import { join } from "node:path";
import {
  detachedShellArgs,
  LinuxPlatform,
  parseProcCmdline,
  parseProcSample,
  parseProcStat,
  parsePsSampleLine,
  parsePsTime,
  PosixPlatform,
} from "./posix.ts";

const linux = Deno.build.os === "linux";
const fixtures = new URL("../../tests/fixtures/", import.meta.url);
const platform = new LinuxPlatform();

/** The first line a child prints on stdout; the stream is released afterwards. */
async function firstLine(child: Deno.ChildProcess): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  await reader.cancel();
  return text.split("\n")[0];
}

/** Poll until `pid` is gone; at most ~5 s. */
async function waitGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if ((await platform.inspect(pid)) === null) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/** Poll (at most ~5 s) until `pid` has exec'd `program`; its argv then. */
async function waitCommandLine(pid: number, program: string): Promise<string[] | undefined> {
  let info = await platform.inspect(pid);
  for (let i = 0; i < 100 && info !== null && info.commandLine[0] !== program; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    info = await platform.inspect(pid);
  }
  return info?.commandLine;
}

function spawnFixture(name: string, args: string[] = []): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(name, fixtures).pathname, ...args],
    detached: true,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

function killQuietly(pid: number): void {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

Deno.test("parseProcStat() reads fields after a command name holding spaces and parentheses", () => {
  const line = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 " +
    "987654 1000 200 18446744073709551615\n";
  assert.deepEqual(parseProcStat(line), {
    state: "S",
    ppid: 1,
    pgid: 4242,
    startTicks: "987654",
  });
});

Deno.test("parseProcCmdline() splits on NUL and keeps empty arguments", () => {
  assert.deepEqual(parseProcCmdline("python\0-c\0\0x.py\0"), ["python", "-c", "", "x.py"]);
  assert.deepEqual(parseProcCmdline(""), []);
});

Deno.test({
  name: "inspect() of a live sleep returns its argv and a stable start time",
  ignore: !linux,
  async fn() {
    const child = new Deno.Command("sleep", { args: ["30"] }).spawn();
    try {
      // Until its exec is done a child's command line is not sleep's yet (an empty one was seen
      // on a busy machine): the test is of a live sleep.
      for (let i = 0; i < 400; i++) {
        if ((await Deno.readTextFile(`/proc/${child.pid}/cmdline`)).includes("sleep")) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const first = await platform.inspect(child.pid);
      const second = await platform.inspect(child.pid);
      assert.ok(first);
      // Deno execs the PATH-resolved program, so argv[0] is its full path.
      assert.deepEqual(first.commandLine, ["/usr/bin/sleep", "30"]);
      assert.equal(first.ppid, Deno.pid);
      assert.match(first.startTime, /^[0-9a-f-]{36}:\d+$/);
      assert.equal(second?.startTime, first.startTime);
      assert.equal(await platform.startTimeOf!(child.pid), first.startTime, "one read, the same");
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
  },
});

Deno.test({
  name: "inspect() of a dead pid is null",
  ignore: !linux,
  async fn() {
    const child = new Deno.Command("true").spawn();
    await child.status;
    assert.equal(await platform.inspect(child.pid), null);
    assert.equal(await platform.startTimeOf!(child.pid), null);
  },
});

Deno.test({
  name: "signalTree() stops the grandchild too",
  ignore: !linux,
  async fn() {
    const leader = spawnFixture("tree.ts");
    const grandchild = Number(await firstLine(leader));
    try {
      assert.ok(await platform.inspect(grandchild));
      await platform.signalTree(leader.pid, "SIGTERM");
      assert.equal((await leader.status).signal, "SIGTERM");
      assert.ok(await waitGone(grandchild), `grandchild ${grandchild} still alive`);
    } finally {
      killQuietly(-leader.pid);
      await leader.status;
    }
  },
});

Deno.test({
  name: "killTree() kills a tree that ignores SIGTERM",
  ignore: !linux,
  async fn() {
    const leader = spawnFixture("tree.ts", ["--ignore-term"]);
    const grandchild = Number(await firstLine(leader));
    try {
      await platform.signalTree(leader.pid, "SIGTERM");
      assert.ok(await platform.inspect(grandchild), "grandchild ignores SIGTERM");
      assert.ok(await platform.inspect(leader.pid), "leader ignores SIGTERM");
      await platform.killTree(leader.pid);
      assert.equal((await leader.status).signal, "SIGKILL");
      assert.ok(await waitGone(grandchild), `grandchild ${grandchild} still alive`);
    } finally {
      killQuietly(-leader.pid);
      await leader.status;
    }
  },
});

Deno.test({
  name: "groupMembers() lists the grandchild after the leader alone died, none after killTree()",
  ignore: !linux,
  async fn() {
    const leader = spawnFixture("tree.ts");
    const grandchild = Number(await firstLine(leader));
    try {
      Deno.kill(leader.pid, "SIGKILL");
      await leader.status;
      assert.deepEqual(await platform.groupMembers(leader.pid), [grandchild]);
      await platform.killTree(leader.pid);
      assert.ok(await waitGone(grandchild), `grandchild ${grandchild} still alive`);
      assert.deepEqual(await platform.groupMembers(leader.pid), []);
    } finally {
      killQuietly(-leader.pid);
      await leader.status;
    }
  },
});

Deno.test({
  name: "spawnDetached() appends stdout and stderr to the log and outlives its handle",
  ignore: !linux,
  async fn() {
    const dir = await Deno.makeTempDir();
    const logPath = join(dir, "x.log");
    await Deno.writeTextFile(logPath, "before\n");
    const script = 'echo "out $1 $GREETING"; echo "err $2" >&2; exec sleep 30';
    const { pid } = await platform.spawnDetached(
      ["/bin/sh", "-c", script, "sh", "a b", "$HOME;*"],
      { cwd: dir, env: { GREETING: "hi" }, logPath },
    );
    try {
      assert.deepEqual(await waitCommandLine(pid, "sleep"), ["sleep", "30"]);
      assert.equal((await platform.inspect(pid))?.pgid, pid);
      const lines = (await Deno.readTextFile(logPath)).split("\n").sort();
      assert.deepEqual(lines, ["", "before", "err $HOME;*", "out a b hi"]);
    } finally {
      await platform.killTree(pid);
      assert.ok(await waitGone(pid), `detached ${pid} still alive`);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("spawnDetached() passes argv to /bin/sh as positional parameters", () => {
  assert.deepEqual(detachedShellArgs(["python", "a b", "$(rm -rf /)"]), [
    "-c",
    'exec "$@" >>"$SCRIPTMON_LOG" 2>&1',
    "scriptmon-detached",
    "python",
    "a b",
    "$(rm -rf /)",
  ]);
});

Deno.test("spawnCommand() wraps in setpriv when it exists, plain otherwise", () => {
  const missing = new LinuxPlatform({ setprivPaths: ["/nonexistent/setpriv"] });
  assert.deepEqual(missing.spawnCommand(["python", "x.py"]), {
    command: "python",
    args: ["x.py"],
  });
  assert.throws(() => missing.spawnCommand([]), {
    name: "TypeError",
    message: "Cannot build a command line: argv is empty",
  });
});

Deno.test({
  name: "a script started through spawnCommand() dies when its parent is SIGKILLed",
  ignore: !linux,
  async fn() {
    assert.deepEqual(platform.spawnCommand(["sleep", "300"]), {
      command: "/usr/bin/setpriv",
      args: ["--pdeathsig", "KILL", "--", "sleep", "300"],
    });
    const parent = spawnFixture("pdeath_parent.ts");
    const pid = Number(await firstLine(parent));
    try {
      assert.deepEqual(await waitCommandLine(pid, "sleep"), ["sleep", "300"]);
      Deno.kill(parent.pid, "SIGKILL");
      await parent.status;
      assert.ok(await waitGone(pid), `sleep ${pid} outlived its parent`);
    } finally {
      killQuietly(-parent.pid);
      await parent.status;
    }
  },
});

const UNITS = { ticksPerSecond: 100, pageSize: 4096 };

Deno.test("parseProcSample() reads ppid, group, CPU ticks and RSS pages after an odd name", () => {
  // Fields 14 and 15 (utime 250, stime 50 ticks), field 24 (rss 2560 pages).
  const line = "4242 (my (odd) name) S 1 4200 4200 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 " +
    "987654 123456789 2560 18446744073709551615\n";
  assert.deepEqual(parseProcSample(line, UNITS), {
    pid: 4242,
    ppid: 1,
    pgid: 4200,
    rssBytes: 2560 * 4096,
    cpuSeconds: 3,
  });
});

Deno.test("parseProcSample() leaves out zombies", () => {
  const line = "77 (defunct) Z 1 77 77 0 -1 4227084 0 0 0 0 5 1 0 0 20 0 1 0 100 0 0 0\n";
  assert.equal(parseProcSample(line, UNITS), null);
});

Deno.test("parseProcSample() refuses a line without a command name", () => {
  assert.throws(() => parseProcSample("garbage", UNITS), {
    name: "SyntaxError",
    message: 'Invalid /proc stat line: no "(name)" in "garbage"',
  });
});

Deno.test("parsePsTime() reads procps, BSD and macOS time columns", () => {
  assert.equal(parsePsTime("00:00:07"), 7);
  assert.equal(parsePsTime("01:02:03"), 3723);
  assert.equal(parsePsTime("2-01:00:00"), 176_400);
  assert.equal(parsePsTime("0:01.25"), 1.25);
  assert.throws(() => parsePsTime("soon"), {
    name: "SyntaxError",
    message: 'Invalid ps time: expected [[dd-]hh:]mm:ss, got "soon"',
  });
});

Deno.test("parsePsSampleLine() converts rss from KiB and leaves out zombies and headers", () => {
  assert.deepEqual(parsePsSampleLine("  4242     1  4200  20480 00:01:05 S"), {
    pid: 4242,
    ppid: 1,
    pgid: 4200,
    rssBytes: 20480 * 1024,
    cpuSeconds: 65,
  });
  assert.equal(parsePsSampleLine("  77  1  77  0 00:00:00 Z"), null);
  assert.equal(parsePsSampleLine("PID PPID PGID RSS TIME STAT"), null);
  assert.equal(parsePsSampleLine(""), null);
});

Deno.test({
  name: "processTable() lists this process and a busy child's CPU time and group",
  ignore: !linux,
  async fn() {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        // 300 ms of CPU, however busy the machine (at most 10 s of waiting for it).
        "import process from 'node:process'; const end = Date.now() + 10_000; " +
        "while (process.cpuUsage().user < 300_000 && Date.now() < end); " +
        "console.log('done'); setInterval(() => {}, 60_000)",
      ],
      detached: true,
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    try {
      assert.equal(await firstLine(child), "done");
      const table = await platform.processTable();
      const self = table.find((p) => p.pid === Deno.pid);
      const busy = table.find((p) => p.pid === child.pid);
      assert.ok(self && busy, "this process and the child are in the table");
      assert.ok(self.rssBytes > 10e6, `own rss ${self.rssBytes}`);
      assert.equal(busy.ppid, Deno.pid);
      assert.equal(busy.pgid, child.pid);
      assert.ok(busy.cpuSeconds >= 0.2, `child cpu ${busy.cpuSeconds} s`);
      assert.equal(new Set(table.map((p) => p.pid)).size, table.length);
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
  },
});

Deno.test({
  name: "processTable() leaves out a zombie child",
  ignore: !linux,
  async fn() {
    // sh forks sleep 0 and never waits for it: sleep stays a zombie until sh exits.
    const child = new Deno.Command("/bin/sh", {
      args: ["-c", "sleep 0 & echo $!; exec sleep 30"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const zombie = Number(await firstLine(child));
      let state = "";
      // Up to 10 s for `sleep 0` to start and exit on a busy machine.
      const deadline = Date.now() + 10_000;
      for (let i = 0; i < 500 && state !== "Z" && Date.now() < deadline; i++) {
        state = parseProcStat(await Deno.readTextFile(`/proc/${zombie}/stat`)).state;
        if (state !== "Z") await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(state, "Z");
      const pids = (await platform.processTable()).map((p) => p.pid);
      assert.ok(pids.includes(child.pid));
      assert.ok(!pids.includes(zombie), `zombie ${zombie} listed`);
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
  },
});

Deno.test({
  name: "the ps fallback's processTable() agrees with /proc on this process's parent and group",
  ignore: !linux,
  async fn() {
    const fromPs = (await new PosixPlatform().processTable()).find((p) => p.pid === Deno.pid);
    const fromProc = (await platform.processTable()).find((p) => p.pid === Deno.pid);
    assert.ok(fromPs && fromProc);
    assert.equal(fromPs.ppid, fromProc.ppid);
    assert.equal(fromPs.pgid, fromProc.pgid);
    assert.ok(fromPs.rssBytes > 10e6, `ps rss ${fromPs.rssBytes}`);
  },
});
