import assert from "node:assert/strict";
import {
  allProcessesQuery,
  descendantsOf,
  detachedCmdLine,
  inspectQuery,
  parseCimJson,
  parseCreationDate,
  parseProcessTable,
  powershellArgs,
  processTableQuery,
  scriptChild,
  splitCommandLine,
  taskkillArgs,
  toProcessInfo,
} from "./windows.ts";

const fixtures = new URL("../../tests/fixtures/windows/", import.meta.url);
const fixture = (name: string) => Deno.readTextFile(new URL(name, fixtures));

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

Deno.test("inspectQuery() builds the CIM query for one pid", () => {
  assert.deepEqual(powershellArgs(inspectQuery(123)), [
    "-NoProfile",
    "-NonInteractive",
    "-Command",
    "Get-CimInstance Win32_Process -Filter 'ProcessId=123' | Select-Object " +
    "ProcessId,ParentProcessId,CreationDate,CommandLine | ConvertTo-Json -Compress",
  ]);
  assert.equal(
    allProcessesQuery(),
    "Get-CimInstance Win32_Process | Select-Object ProcessId,ParentProcessId,CreationDate" +
      " | ConvertTo-Json -Compress",
  );
});

Deno.test("inspectQuery() refuses a pid that is not a positive integer", () => {
  assert.throws(() => inspectQuery(1.5), {
    name: "RangeError",
    message: "Invalid pid: expected a positive integer, got 1.5",
  });
});

Deno.test("a python.exe with a quoted path reads the same from PowerShell 5.1 and 7", async () => {
  const [legacy] = parseCimJson(await fixture("ps51_inspect_python.txt"));
  const [modern] = parseCimJson(await fixture("ps7_inspect_python.txt"));
  const expected = {
    pid: 4242,
    ppid: 1337,
    startTime: "2026-12-01T08:28:09.123Z",
    commandLine: PYTHON_ARGV,
  };
  assert.deepEqual(toProcessInfo(legacy), expected);
  assert.deepEqual(toProcessInfo(modern), expected);
});

Deno.test("a protected process's null CommandLine becomes an empty argv", async () => {
  const rows = parseCimJson(await fixture("ps51_inspect_protected.txt"));
  assert.deepEqual(rows.map(toProcessInfo), [
    { pid: 3120, ppid: 812, startTime: "2026-11-30T06:01:44.500Z", commandLine: [] },
  ]);
});

Deno.test("an empty PowerShell result is no process", async () => {
  assert.deepEqual(parseCimJson(await fixture("ps7_inspect_empty.txt")), []);
});

Deno.test("parseCimJson() refuses text that is not JSON", () => {
  assert.throws(() => parseCimJson("Get-CimInstance : Access denied"), {
    name: "SyntaxError",
    message: "Invalid Win32_Process JSON: Get-CimInstance : Access denied",
  });
});

Deno.test("parseCreationDate() normalises both formats and refuses others", () => {
  assert.equal(parseCreationDate("/Date(1796113689123)/"), "2026-12-01T08:28:09.123Z");
  assert.equal(parseCreationDate("2026-12-01T09:28:09+01:00"), "2026-12-01T08:28:09.000Z");
  assert.equal(parseCreationDate({ value: "/Date(0)/" }), "1970-01-01T00:00:00.000Z");
  assert.throws(() => parseCreationDate("yesterday"), {
    name: "SyntaxError",
    message: 'Invalid CreationDate: expected /Date(ms)/ or ISO 8601, got "yesterday"',
  });
});

Deno.test("descendantsOf() walks the tree in both formats and skips a reused parent pid", async () => {
  for (const name of ["ps51_tree.txt", "ps7_tree.txt"]) {
    const rows = parseCimJson(await fixture(name));
    assert.deepEqual(descendantsOf(rows, 4242), [4242, 4300, 5100], name);
    assert.deepEqual(descendantsOf(rows, 9999), [], name);
  }
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

Deno.test("scriptChild() skips cmd.exe's console host", async () => {
  const rows = parseCimJson(await fixture("ps7_children_cmd.txt"));
  assert.equal(scriptChild(rows)?.ProcessId, 7020);
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

Deno.test("processTableQuery() selects working set and CPU times of every process", () => {
  assert.equal(
    processTableQuery(),
    "Get-CimInstance Win32_Process | Select-Object " +
      "ProcessId,ParentProcessId,WorkingSetSize,UserModeTime,KernelModeTime | ConvertTo-Json -Compress",
  );
});

Deno.test("parseProcessTable() reads bytes and 100 ns CPU times from PowerShell 5.1", async () => {
  const table = parseProcessTable(await fixture("ps51_process_table.txt"));
  assert.equal(table.length, 8);
  assert.deepEqual(table.find((p) => p.pid === 4242), {
    pid: 4242,
    ppid: 1337,
    rssBytes: 25_690_112,
    cpuSeconds: 1.875,
  });
  assert.deepEqual(table.find((p) => p.pid === 0), {
    pid: 0,
    ppid: 0,
    rssBytes: 8192,
    cpuSeconds: 346_160.9375,
  });
  assert.ok(table.every((p) => p.pgid === undefined));
});

Deno.test("parseProcessTable() counts null CPU times as zero", async () => {
  const table = parseProcessTable(await fixture("ps51_process_table.txt"));
  assert.deepEqual(table.find((p) => p.pid === 812), {
    pid: 812,
    ppid: 4,
    rssBytes: 1_212_416,
    cpuSeconds: 0,
  });
});

Deno.test("parseProcessTable() reads one object, nothing, and refuses a bad field", () => {
  assert.deepEqual(
    parseProcessTable(
      '{"ProcessId":7,"ParentProcessId":1,"WorkingSetSize":4096,"UserModeTime":10000000,"KernelModeTime":0}',
    ),
    [{ pid: 7, ppid: 1, rssBytes: 4096, cpuSeconds: 1 }],
  );
  assert.deepEqual(parseProcessTable("\r\n"), []);
  assert.throws(
    () =>
      parseProcessTable(
        '[{"ProcessId":7,"ParentProcessId":1,"WorkingSetSize":"4096","UserModeTime":0,"KernelModeTime":0}]',
      ),
    {
      name: "TypeError",
      message:
        'Invalid Win32_Process row 0: expected WorkingSetSize to be a number of zero or more, got "4096"',
    },
  );
  assert.throws(() => parseProcessTable("Access denied"), {
    name: "SyntaxError",
    message: "Invalid Win32_Process JSON: Access denied",
  });
});
