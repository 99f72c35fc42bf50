import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { PassThrough } from "node:stream";
import {
  descendantsOf,
  plausibleStart,
  selfSignaller,
  type WindowsDeps,
  WindowsPlatform,
} from "./windows.ts";
import { detachedCmdLine, splitCommandLine, taskkillArgs } from "./_win_cmdline.ts";
import {
  decodePidList,
  decodeProcessEntry,
  fileTimeToIso,
  type Handle,
  JOB_EXTENDED_LIMIT_SIZE,
  KILL_ON_JOB_CLOSE,
  killOnCloseLimits,
  PROCESSENTRY32W_SIZE,
  type ProcessFacts,
  type SnapshotEntry,
  type Win32,
} from "./_win32.ts";
import { type ConsoleCalls, ctrlEventFor, sendCtrlEvent } from "./_win_console.ts";

const fixtures = new URL("../../tests/fixtures/windows/", import.meta.url);
const fixture = async (name: string) =>
  JSON.parse(await Deno.readTextFile(new URL(name, fixtures))) as
    | Record<string, unknown>
    | Array<Record<string, unknown>>;

const PYTHON_ARGV = [
  "C:\\Program Files\\Python311\\python.exe",
  "-u",
  "token_monitor.py",
  "--site",
  "BFI4",
  "--title",
  "Token monitor",
  "--out",
  "C:\\fc\\out\\",
];

Deno.test("real command lines read by Windows split into the argv the script was started with", async () => {
  for (const name of ["ps51_inspect_python.txt", "ps7_inspect_python.txt"]) {
    const row = await fixture(name) as Record<string, unknown>;
    assert.deepEqual(splitCommandLine(String(row.CommandLine)), PYTHON_ARGV, name);
  }
});

Deno.test("descendantsOf() walks a real process tree and skips a reused parent pid", async () => {
  const rows = await fixture("ps7_tree.txt") as Array<Record<string, unknown>>;
  const entries: SnapshotEntry[] = rows.map((r) => ({
    pid: Number(r.ProcessId),
    ppid: Number(r.ParentProcessId),
    name: "x.exe",
  }));
  const starts = new Map(
    rows.map((
      r,
    ) => [Number(r.ProcessId), r.CreationDate ? Date.parse(String(r.CreationDate)) : null]),
  );
  const started = (pid: number) => starts.get(pid) ?? null;
  // 2200 claims 4242 as its parent but is older: a reused pid.
  assert.deepEqual(descendantsOf(entries, 4242, started), [4242, 4300, 5100]);
  assert.deepEqual(descendantsOf(entries, 9999, started), []);
});

Deno.test("the job limits set only kill-on-close, at LimitFlags' offset", () => {
  const limits = killOnCloseLimits();
  assert.equal(limits.length, JOB_EXTENDED_LIMIT_SIZE);
  const view = new DataView(limits.buffer);
  assert.equal(view.getUint32(16, true), KILL_ON_JOB_CLOSE);
  assert.equal(limits.reduce((sum, b) => sum + b, 0), 0x20, "nothing else is set");
});

Deno.test("decodePidList(), decodeProcessEntry() and fileTimeToIso() read Windows' layouts", () => {
  const list = new Uint8Array(8 + 8 * 4);
  const view = new DataView(list.buffer);
  view.setUint32(0, 3, true); // assigned
  view.setUint32(4, 2, true); // listed
  view.setBigUint64(8, 308n, true);
  view.setBigUint64(16, 324n, true);
  assert.deepEqual(decodePidList(list), [308, 324]);

  const entry = new Uint8Array(PROCESSENTRY32W_SIZE);
  const e = new DataView(entry.buffer);
  e.setUint32(8, 324, true);
  e.setUint32(32, 308, true);
  const name = new Uint8Array(new Uint16Array([..."ping.exe"].map((c) => c.charCodeAt(0))).buffer);
  entry.set(name, 44);
  assert.deepEqual(decodeProcessEntry(entry), { pid: 324, ppid: 308, name: "ping.exe" });

  // 2026-12-05T02:10:00.123Z in 100 ns ticks since 1601.
  const ms = Date.parse("2026-12-05T02:10:00.123Z");
  assert.equal(
    fileTimeToIso(BigInt(ms) * 10_000n + 116_444_736_000_000_000n + 4567n),
    "2026-12-05T02:10:00.123Z",
  );
});

/** A Win32 that records its calls: one job per create, pids as the test sets them. */
class RecordingWin32 implements Win32 {
  calls: string[] = [];
  members = new Map<string, number[]>();
  #next = 1;
  createKillOnCloseJob(): Handle {
    const job = { id: `job${this.#next++}` } as unknown as Handle;
    this.calls.push(`create ${(job as unknown as { id: string }).id}`);
    return job;
  }
  assignToJob(job: Handle, pid: number): boolean {
    this.calls.push(`assign ${(job as unknown as { id: string }).id} ${pid}`);
    this.members.set((job as unknown as { id: string }).id, [pid]);
    return true;
  }
  jobPids(job: Handle): number[] {
    return this.members.get((job as unknown as { id: string }).id) ?? [];
  }
  terminateJob(job: Handle, code: number): void {
    this.calls.push(`terminate ${(job as unknown as { id: string }).id} ${code}`);
    this.members.set((job as unknown as { id: string }).id, []);
  }
  close(job: Handle): void {
    this.calls.push(`close ${(job as unknown as { id: string }).id}`);
  }
  /** What processFacts answers, one per call (the last one repeats); none: null. */
  facts: (ProcessFacts | null)[] = [];
  processFacts() {
    return this.facts.length > 1 ? this.facts.shift()! : this.facts[0] ?? null;
  }
  snapshot(): SnapshotEntry[] {
    return [];
  }
  resources() {
    return null;
  }
}

/** A `spawn` stand-in that records its options and answers like a started process. */
function recordingSpawn(pid: number) {
  const seen: Array<{ file: string; args: string[]; options: Record<string, unknown> }> = [];
  const spawn = ((file: string, args: string[], options: Record<string, unknown>) => {
    seen.push({ file, args, options });
    const child = Object.assign(new EventEmitter(), {
      pid,
      stdout: new PassThrough(),
      stderr: new PassThrough(),
    });
    queueMicrotask(() => child.emit("spawn"));
    return child;
  }) as unknown as NonNullable<WindowsDeps["spawnHidden"]>;
  return { spawn, seen };
}

Deno.test("a script starts hidden, piped, in a new kill-on-close job; kill ends the job", async () => {
  const win32 = new RecordingWin32();
  const { spawn, seen } = recordingSpawn(4242);
  const platform = new WindowsPlatform({ win32, spawnHidden: spawn, signaller: null });
  const child = await platform.spawn(["C:\\py\\python.exe", "rates.py"], {
    cwd: "C:\\fc",
    env: { A: "1" },
  });
  assert.equal(child.pid, 4242);
  assert.deepEqual(seen[0].file, "C:\\py\\python.exe");
  assert.deepEqual(seen[0].args, ["rates.py"]);
  assert.equal(seen[0].options.windowsHide, true, "CREATE_NO_WINDOW");
  assert.deepEqual(seen[0].options.stdio, ["ignore", "pipe", "pipe"], "no inherited stdio");
  assert.deepEqual(seen[0].options.env, { A: "1" });
  assert.deepEqual(win32.calls, ["create job1", "assign job1 4242"]);
  assert.deepEqual(await platform.groupMembers(4242), [4242]);
  await platform.killTree(4242);
  assert.deepEqual(win32.calls.slice(2), ["terminate job1 1", "close job1"]);
});

Deno.test("stop sends the agent's ctrl-event command; a failure falls back to taskkill without /F", async () => {
  const ran: string[][] = [];
  let code = 0;
  const platform = new WindowsPlatform({
    win32: new RecordingWin32(),
    signaller: ["C:\\agent\\scriptmon-agent.exe"],
    run: (program, args) => {
      ran.push([program, ...args]);
      return Promise.resolve({ code: ran.length === 1 ? code : 0, stderr: "" });
    },
  });
  await platform.signalTree(4242, "SIGINT");
  assert.deepEqual(ran, [["C:\\agent\\scriptmon-agent.exe", "ctrl-event", "4242", "c"]]);
  ran.length = 0;
  code = 1;
  await platform.signalTree(4242, "SIGTERM");
  assert.deepEqual(ran, [
    ["C:\\agent\\scriptmon-agent.exe", "ctrl-event", "4242", "break"],
    ["taskkill.exe", "/PID", "4242", "/T"],
  ]);
  assert.equal(ctrlEventFor("SIGINT"), "c");
  assert.equal(ctrlEventFor("SIGTERM"), "break");
});

Deno.test("killTree() of a tree without a job uses taskkill /T /F and reports its failure", async () => {
  const platform = new WindowsPlatform({
    win32: new RecordingWin32(),
    signaller: null,
    run: () => Promise.resolve({ code: 5, stderr: "Access is denied." }),
  });
  await assert.rejects(() => platform.killTree(77), {
    message: "taskkill /F of pid 77 failed (exit 5): Access is denied.",
  });
});

Deno.test("sendCtrlEvent() leaves its console, joins the script's, ignores the event, sends to all", () => {
  const calls: string[] = [];
  const fake: ConsoleCalls = {
    FreeConsole: () => (calls.push("FreeConsole"), 1),
    AttachConsole: (pid) => (calls.push(`AttachConsole ${pid}`), 1),
    SetConsoleCtrlHandler: (h, add) => (calls.push(`SetConsoleCtrlHandler ${h} ${add}`), 1),
    GenerateConsoleCtrlEvent: (e, g) => (calls.push(`GenerateConsoleCtrlEvent ${e} ${g}`), 1),
    GetLastError: () => 6,
  };
  sendCtrlEvent(4242, "break", fake);
  assert.deepEqual(calls, [
    "FreeConsole",
    "AttachConsole 4242",
    "SetConsoleCtrlHandler null 1",
    "GenerateConsoleCtrlEvent 1 0",
  ]);
  assert.throws(() => sendCtrlEvent(4242, "c", { ...fake, AttachConsole: () => 0 }), {
    message: "Cannot attach to the console of pid 4242 (Windows error 6)",
  });
});

Deno.test("selfSignaller() runs the compiled agent, or deno with the agent's entry point", () => {
  assert.deepEqual(selfSignaller("C:\\a\\scriptmon-agent.exe", "file:///x"), [
    "C:\\a\\scriptmon-agent.exe",
  ]);
  assert.deepEqual(selfSignaller("C:\\a\\deno.exe", "file:///C:/a/scriptmon-agent.js"), [
    "C:\\a\\deno.exe",
    "run",
    "--allow-all",
    "--unstable-kv",
    "file:///C:/a/scriptmon-agent.js",
  ]);
  assert.equal(selfSignaller("C:\\a\\deno.exe", "file:///C:/a/tests/x_test.ts"), null);
});

Deno.test("splitCommandLine() follows CommandLineToArgvW rules", () => {
  assert.deepEqual(splitCommandLine('"C:\\a b\\x.exe" a\\\\"b c" d\\"e f\\\\\\"g'), [
    "C:\\a b\\x.exe",
    "a\\b c",
    'd"e',
    'f\\"g',
  ]);
  assert.deepEqual(splitCommandLine('C:\\x\\y.exe "" "a ""b"" c"  \t'), [
    "C:\\x\\y.exe",
    "",
    'a "b" c',
  ]);
  assert.deepEqual(splitCommandLine("   "), []);
});

Deno.test("taskkillArgs() adds /F only when forced", () => {
  assert.deepEqual(taskkillArgs(42, { force: false }), ["/PID", "42", "/T"]);
  assert.deepEqual(taskkillArgs(42, { force: true }), ["/PID", "42", "/T", "/F"]);
});

Deno.test("detachedCmdLine() quotes every word so cmd.exe metacharacters stay literal", () => {
  assert.equal(
    detachedCmdLine(["python", "a&b|c.py", "C:\\dir\\"], "C:\\fc\\logs\\rates.log"),
    '/d /v:off /s /c ""python" "a&b|c.py" "C:\\dir\\\\" >>"C:\\fc\\logs\\rates.log" 2>&1"',
  );
});

Deno.test("detachedCmdLine() refuses a word cmd.exe would expand", () => {
  assert.throws(() => detachedCmdLine(["python", "%PATH%"], "C:\\x.log"), {
    name: "TypeError",
    message:
      'Cannot start "python" detached on Windows: argument 1 "%PATH%" contains "%", which cmd.exe would interpret',
  });
  assert.throws(() => detachedCmdLine(["python"], 'C:\\"x.log'), {
    name: "TypeError",
    message:
      'Cannot start "python" detached on Windows: log path "C:\\"x.log" contains "\\"", which cmd.exe would interpret',
  });
});

Deno.test("inspect asks again while a new process's creation time is no time at all (Wine's 0x5555…)", async () => {
  const win32 = new RecordingWin32();
  const facts = {
    pid: 77,
    ppid: 1,
    image: "C:\\deno.exe",
    commandLine: '"C:\\deno.exe" run a.ts',
  };
  win32.facts = [
    { ...facts, startTime: "+021086-02-19T09:52:03.651Z" },
    { ...facts, startTime: "2026-12-05T13:25:13.781Z" },
  ];
  const platform = new WindowsPlatform({ win32, signaller: null });
  const info = await platform.inspect(77);
  assert.equal(info?.startTime, "2026-12-05T13:25:13.781Z");
  assert.equal(plausibleStart("+021086-02-19T09:52:03.651Z"), false);
  assert.equal(plausibleStart("1601-01-01T00:00:00.000Z"), false);
  assert.equal(plausibleStart(new Date().toISOString()), true);
});
