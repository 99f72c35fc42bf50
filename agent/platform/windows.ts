/**
 * The Windows platform: processes inspected through CIM (PowerShell), trees
 * stopped with taskkill. The parsing and command-building pieces are
 * exported pure functions so they are tested on any OS against saved
 * PowerShell output (tests/fixtures/windows/).
 */

import type {
  Platform,
  ProcessInfo,
  ProcessSample,
  SpawnDetachedOptions,
  TreeGuard,
} from "./types.ts";
import { childEnv } from "./child_env.ts";

/** One Win32_Process row as `ConvertTo-Json` prints it. */
export interface CimProcess {
  ProcessId: number;
  ParentProcessId: number;
  CreationDate: string | null;
  CommandLine?: string | null;
}

const INSPECT_PROPERTIES = "ProcessId,ParentProcessId,CreationDate,CommandLine";
const TREE_PROPERTIES = "ProcessId,ParentProcessId,CreationDate";

/** The PowerShell line that prints Win32_Process rows as compact JSON; no filter lists all. */
export function cimQuery(options: { filter?: string; properties: string }): string {
  const where = options.filter === undefined ? "" : ` -Filter '${options.filter}'`;
  return `Get-CimInstance Win32_Process${where} | Select-Object ${options.properties}` +
    " | ConvertTo-Json -Compress";
}

/** The powershell.exe arguments that run one command line, without profile or prompts. */
export function powershellArgs(command: string): string[] {
  return ["-NoProfile", "-NonInteractive", "-Command", command];
}

/** The query `inspect(pid)` runs. */
export function inspectQuery(pid: number): string {
  checkPid(pid);
  return cimQuery({ filter: `ProcessId=${pid}`, properties: INSPECT_PROPERTIES });
}

/** The query for the children of one process. */
export function childrenQuery(pid: number): string {
  checkPid(pid);
  return cimQuery({ filter: `ParentProcessId=${pid}`, properties: INSPECT_PROPERTIES });
}

/** The script among cmd.exe's children: the one that is not the console host. */
export function scriptChild(rows: CimProcess[]): CimProcess | undefined {
  return rows.find((row) => {
    const program = row.CommandLine ? splitCommandLine(row.CommandLine)[0] ?? "" : "";
    return !/(^|[\\/])conhost(\.exe)?$/i.test(program);
  });
}

/** The query `groupMembers()` runs: every process, to walk the tree by ppid. */
export function allProcessesQuery(): string {
  return cimQuery({ properties: TREE_PROPERTIES });
}

const TABLE_PROPERTIES = "ProcessId,ParentProcessId,WorkingSetSize,UserModeTime,KernelModeTime";

/** The query `processTable()` runs: every process's working set and CPU times. */
export function processTableQuery(): string {
  return cimQuery({ properties: TABLE_PROPERTIES });
}

/** Win32_Process counts CPU time in 100 ns units. */
const CPU_UNITS_PER_SECOND = 10_000_000;

/**
 * Parse the `processTableQuery()` output: WorkingSetSize is the RSS in bytes;
 * UserModeTime + KernelModeTime (100 ns units) the CPU time. A field CIM
 * could not read (null, as for some protected processes) counts as 0.
 */
export function parseProcessTable(text: string): ProcessSample[] {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    throw new SyntaxError(`Invalid Win32_Process JSON: ${trimmed.slice(0, 80)}`, { cause: error });
  }
  const rows: unknown[] = Array.isArray(value) ? value : [value];
  return rows.map((row, index) => {
    if (
      typeof row !== "object" || row === null || !("ProcessId" in row) ||
      !("ParentProcessId" in row) || typeof row.ProcessId !== "number" ||
      typeof row.ParentProcessId !== "number"
    ) {
      throw new TypeError(
        `Invalid Win32_Process row ${index}: expected ProcessId and ParentProcessId numbers, got ${
          JSON.stringify(row)
        }`,
      );
    }
    const fields = row as Record<string, unknown>;
    const number = (name: string): number => {
      const field = fields[name];
      if (field === null || field === undefined) return 0;
      if (typeof field !== "number" || !Number.isFinite(field) || field < 0) {
        throw new TypeError(
          `Invalid Win32_Process row ${index}: expected ${name} to be a number of zero or more, got ${
            JSON.stringify(field)
          }`,
        );
      }
      return field;
    };
    return {
      pid: row.ProcessId,
      ppid: row.ParentProcessId,
      rssBytes: number("WorkingSetSize"),
      cpuSeconds: (number("UserModeTime") + number("KernelModeTime")) / CPU_UNITS_PER_SECOND,
    };
  });
}

/** Parse `ConvertTo-Json` output: nothing, one object, or an array of objects. */
export function parseCimJson(text: string): CimProcess[] {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    throw new SyntaxError(`Invalid Win32_Process JSON: ${trimmed.slice(0, 80)}`, { cause: error });
  }
  const rows = Array.isArray(value) ? value : [value];
  return rows.map((row, index) => {
    if (
      typeof row !== "object" || row === null ||
      typeof row.ProcessId !== "number" || typeof row.ParentProcessId !== "number"
    ) {
      throw new TypeError(
        `Invalid Win32_Process row ${index}: expected ProcessId and ParentProcessId numbers, got ${
          JSON.stringify(row)
        }`,
      );
    }
    return row as CimProcess;
  });
}

/**
 * Normalise a CreationDate to ISO UTC with milliseconds. Windows PowerShell
 * 5.1 prints `"\/Date(1700000000123)\/"`; PowerShell 7 an ISO string with an
 * offset and 7 fractional digits. Both become the same string.
 */
export function parseCreationDate(value: unknown): string {
  if (typeof value === "object" && value !== null && "value" in value) {
    return parseCreationDate(value.value);
  }
  if (typeof value !== "string") {
    throw new TypeError(`Invalid CreationDate: expected a string, got ${JSON.stringify(value)}`);
  }
  const legacy = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/.exec(value);
  if (legacy) return new Date(Number(legacy[1])).toISOString();
  const iso = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$/.exec(value);
  if (iso) {
    const millis = (iso[2] ?? "").padEnd(3, "0").slice(0, 3);
    const date = new Date(`${iso[1]}.${millis}${iso[3] ?? "Z"}`);
    if (!Number.isNaN(date.getTime())) return date.toISOString();
  }
  throw new SyntaxError(`Invalid CreationDate: expected /Date(ms)/ or ISO 8601, got "${value}"`);
}

/** Split a Windows command line into argv the way CommandLineToArgvW does. */
export function splitCommandLine(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  // argv[0]: quotes toggle, backslashes are literal.
  while (i < line.length && (line[i] === " " || line[i] === "\t")) i++;
  if (i >= line.length) return args;
  let first = "";
  let quoted = false;
  for (; i < line.length; i++) {
    const c = line[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === " " || c === "\t")) break;
    else first += c;
  }
  args.push(first);
  // The rest: 2n backslashes + quote = n backslashes and a toggle; 2n+1 = n and a literal quote.
  for (;;) {
    while (i < line.length && (line[i] === " " || line[i] === "\t")) i++;
    if (i >= line.length) return args;
    let arg = "";
    quoted = false;
    while (i < line.length) {
      const c = line[i];
      if (c === "\\") {
        let slashes = 0;
        while (line[i] === "\\") {
          slashes++;
          i++;
        }
        if (line[i] === '"') {
          arg += "\\".repeat(Math.floor(slashes / 2));
          if (slashes % 2 === 1) {
            arg += '"';
            i++;
          }
        } else {
          arg += "\\".repeat(slashes);
        }
      } else if (c === '"') {
        if (quoted && line[i + 1] === '"') {
          arg += '"';
          i += 2;
        } else {
          quoted = !quoted;
          i++;
        }
      } else if (!quoted && (c === " " || c === "\t")) {
        break;
      } else {
        arg += c;
        i++;
      }
    }
    args.push(arg);
  }
}

/** A process's info from one CIM row; a protected process's null CommandLine becomes `[]`. */
export function toProcessInfo(row: CimProcess): ProcessInfo {
  return {
    pid: row.ProcessId,
    ppid: row.ParentProcessId,
    startTime: parseCreationDate(row.CreationDate),
    commandLine: row.CommandLine ? splitCommandLine(row.CommandLine) : [],
  };
}

/**
 * The live process `root` and all its descendants. A child counts only if it
 * was created after its parent, so a reused parent pid is not followed.
 */
export function descendantsOf(rows: CimProcess[], root: number): number[] {
  const created = new Map<number, number>();
  const children = new Map<number, CimProcess[]>();
  for (const row of rows) {
    created.set(
      row.ProcessId,
      row.CreationDate ? Date.parse(parseCreationDate(row.CreationDate)) : 0,
    );
    if (row.ParentProcessId === row.ProcessId) continue;
    const list = children.get(row.ParentProcessId) ?? [];
    list.push(row);
    children.set(row.ParentProcessId, list);
  }
  const found: number[] = created.has(root) ? [root] : [];
  const queue = [root];
  const seen = new Set(queue);
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    const parentCreated = created.get(parent);
    for (const child of children.get(parent) ?? []) {
      if (seen.has(child.ProcessId)) continue;
      const childCreated = created.get(child.ProcessId) ?? 0;
      if (parentCreated !== undefined && childCreated < parentCreated) continue;
      seen.add(child.ProcessId);
      found.push(child.ProcessId);
      queue.push(child.ProcessId);
    }
  }
  return found.sort((a, b) => a - b);
}

/** The taskkill arguments that stop a tree: WM_CLOSE without `force`, TerminateProcess with. */
export function taskkillArgs(pid: number, options: { force: boolean }): string[] {
  checkPid(pid);
  return ["/PID", String(pid), "/T", ...(options.force ? ["/F"] : [])];
}

/** taskkill's exit code when the process does not exist. */
export const TASKKILL_NOT_FOUND = 128;

/**
 * The raw cmd.exe argument string of `spawnDetached()`: every word quoted, so
 * `& | < > ^ ( )` stay literal; characters cmd.exe would still interpret
 * inside quotes (`"`, `%`, line breaks) are refused.
 */
export function detachedCmdLine(argv: string[], logPath: string): string {
  if (argv.length === 0) throw new TypeError("Cannot start a detached script: argv is empty");
  const words = [...argv, logPath];
  words.forEach((word, index) => {
    const bad = /["%\r\n\0]/.exec(word);
    if (bad) {
      const what = index === argv.length ? "log path" : `argument ${index}`;
      throw new TypeError(
        `Cannot start "${argv[0]}" detached on Windows: ${what} "${word}" contains ${
          JSON.stringify(bad[0])
        }, which cmd.exe would interpret`,
      );
    }
  });
  const quote = (word: string) => `"${word.replace(/(\\+)$/, "$1$1")}"`;
  return `/d /v:off /s /c "${argv.map(quote).join(" ")} >>${quote(logPath)} 2>&1"`;
}

function checkPid(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new RangeError(`Invalid pid: expected a positive integer, got ${pid}`);
  }
}

async function powershell(command: string): Promise<string> {
  const output = await new Deno.Command("powershell.exe", {
    args: powershellArgs(command),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`PowerShell failed (exit ${output.code}) running "${command}": ${stderr}`);
  }
  return new TextDecoder().decode(output.stdout);
}

async function taskkill(pid: number, options: { force: boolean }): Promise<void> {
  const output = await new Deno.Command("taskkill.exe", {
    args: taskkillArgs(pid, options),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  // Without /F, console programs refuse WM_CLOSE: the caller escalates to killTree after its timeout.
  if (output.success || output.code === TASKKILL_NOT_FOUND || !options.force) return;
  const stderr = new TextDecoder().decode(output.stderr).trim();
  throw new Error(`taskkill /F of pid ${pid} failed (exit ${output.code}): ${stderr}`);
}

/** How often and how long `spawnDetached()` looks for the script under its cmd.exe. */
const CHILD_LOOKUPS = 20;
const CHILD_LOOKUP_DELAY_MS = 100;

/** Windows through PowerShell CIM queries and taskkill. */
export class WindowsPlatform implements Platform {
  /** No guard yet: Job Objects will tie a script's tree to the agent (the Windows issue). */
  guardTrees(_pidDir: string): Promise<TreeGuard | null> {
    return Promise.resolve(null);
  }

  readonly name = "windows";

  async inspect(pid: number): Promise<ProcessInfo | null> {
    const rows = parseCimJson(await powershell(inspectQuery(pid)));
    const row = rows.find((r) => r.ProcessId === pid);
    return row === undefined ? null : toProcessInfo(row);
  }

  spawnCommand(argv: string[]): { command: string; args: string[] } {
    if (argv.length === 0) throw new TypeError("Cannot build a command line: argv is empty");
    return { command: argv[0], args: argv.slice(1) };
  }

  /** taskkill /T without /F; Windows has no signals, so `signal` is not used. */
  signalTree(pid: number, _signal: Deno.Signal): Promise<void> {
    return taskkill(pid, { force: false });
  }

  killTree(pid: number): Promise<void> {
    return taskkill(pid, { force: true });
  }

  async groupMembers(pgid: number): Promise<number[]> {
    checkPid(pgid);
    return descendantsOf(parseCimJson(await powershell(allProcessesQuery())), pgid);
  }

  /** One CIM query of every process; Windows has no process groups, so `pgid` is undefined. */
  async processTable(): Promise<ProcessSample[]> {
    return parseProcessTable(await powershell(processTableQuery()));
  }

  /**
   * Start the script under `cmd.exe` (which appends its output to the log),
   * then return the script's own pid, so that its PID record matches its
   * command line; cmd.exe's pid if the script is already gone.
   */
  async spawnDetached(argv: string[], options: SpawnDetachedOptions): Promise<{ pid: number }> {
    const raw = detachedCmdLine(argv, options.logPath);
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("cmd.exe", {
        args: [raw],
        windowsRawArguments: true,
        cwd: options.cwd,
        clearEnv: true,
        env: childEnv(options.env),
        detached: true,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
    } catch (error) {
      throw new Error(`Cannot start "${argv[0]}" detached in "${options.cwd}"`, { cause: error });
    }
    child.unref();
    for (let attempt = 0; attempt < CHILD_LOOKUPS; attempt++) {
      const script = scriptChild(parseCimJson(await powershell(childrenQuery(child.pid))));
      if (script !== undefined) return { pid: script.ProcessId };
      if ((await this.inspect(child.pid)) === null) break;
      await new Promise((resolve) => setTimeout(resolve, CHILD_LOOKUP_DELAY_MS));
    }
    return { pid: child.pid };
  }
}
