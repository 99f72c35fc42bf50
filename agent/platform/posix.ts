/**
 * The POSIX platform: Linux through `/proc`, other Unixes (macOS) through a
 * minimal `ps` fallback. Scripts lead their own session and process group
 * (through util-linux's `setsid`, else `detached: true`), so a tree is
 * stopped with `kill(-pgid)`.
 */

import type {
  Platform,
  ProcessInfo,
  ProcessSample,
  SpawnDetachedOptions,
  SpawnedChild,
  SpawnOptions,
  TreeGuard,
} from "./types.ts";
import { childEnv } from "./child_env.ts";
import { checkPid, groupExists, isFile, signalGroup } from "./_posix_calls.ts";

/** The fields of `/proc/<pid>/stat` the agent uses. */
export interface ProcStat {
  state: string;
  ppid: number;
  pgid: number;
  /** Field 22: start time in clock ticks since boot. */
  startTicks: string;
}

/** Parse `/proc/<pid>/stat`; the command name in parentheses may itself hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat {
  const close = text.lastIndexOf(")");
  if (close < 0) throw new SyntaxError(`Invalid /proc stat line: no ")" in "${text.slice(0, 80)}"`);
  // Fields after the command name start with field 3 (state).
  const fields = text.slice(close + 2).trim().split(" ");
  if (fields.length < 20) {
    throw new SyntaxError(
      `Invalid /proc stat line: ${fields.length + 2} fields, expected at least 22`,
    );
  }
  return {
    state: fields[0],
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    startTicks: fields[19],
  };
}

/** How `/proc/<pid>/stat` counts: CPU clock ticks per second and bytes per page. */
export interface ProcUnits {
  /** USER_HZ, `getconf CLK_TCK`; 100 on Linux. */
  ticksPerSecond: number;
  /** `getconf PAGESIZE`; 4096 on most machines. */
  pageSize: number;
}

/**
 * The resources in one `/proc/<pid>/stat` line: ppid (field 4), pgrp (5),
 * utime + stime (14, 15, in ticks) and rss (24, in pages). Null for a zombie
 * or a dead process, which hold no memory and are not part of any tree.
 */
export function parseProcSample(text: string, units: ProcUnits): ProcessSample | null {
  const open = text.indexOf(" (");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) {
    throw new SyntaxError(`Invalid /proc stat line: no "(name)" in "${text.slice(0, 80)}"`);
  }
  const fields = text.slice(close + 2).trim().split(" ");
  if (fields.length < 22) {
    throw new SyntaxError(
      `Invalid /proc stat line: ${fields.length + 2} fields, expected at least 24`,
    );
  }
  // fields[0] is field 3 (state), so field n is fields[n - 3].
  if (fields[0] === "Z" || fields[0] === "X") return null;
  return {
    pid: Number(text.slice(0, open)),
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    rssBytes: Number(fields[21]) * units.pageSize,
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / units.ticksPerSecond,
  };
}

/** Split `/proc/<pid>/cmdline` (NUL-separated, NUL-terminated) into argv. */
export function parseProcCmdline(text: string): string[] {
  if (text === "") return [];
  const parts = text.split("\0");
  if (parts[parts.length - 1] === "") parts.pop();
  return parts;
}

/**
 * Parse one line of `ps -o pid=,ppid=,pgid=,lstart=,args=`. `lstart` is five
 * words ("Mon Dec  1 08:28:09 2026"); args are split on whitespace, which
 * loses quoting: the fallback is approximate by design.
 */
export function parsePsLine(line: string): ProcessInfo | null {
  const words = line.trim().split(/\s+/);
  if (words.length < 8) return null;
  const [pid, ppid, pgid] = words.slice(0, 3).map(Number);
  if (![pid, ppid, pgid].every(Number.isInteger)) return null;
  return {
    pid,
    ppid,
    pgid,
    startTime: words.slice(3, 8).join(" "),
    commandLine: words.slice(8),
  };
}

/**
 * Parse ps's `time` column into seconds: `[[dd-]hh:]mm:ss` (procps, BSD) with
 * optional fractions (macOS prints `0:01.23`).
 */
export function parsePsTime(text: string): number {
  const match = /^(?:(\d+)-)?((?:\d+:){0,2}\d+(?:\.\d+)?)$/.exec(text.trim());
  if (match === null) {
    throw new SyntaxError(`Invalid ps time: expected [[dd-]hh:]mm:ss, got "${text}"`);
  }
  const days = Number(match[1] ?? "0");
  const seconds = match[2].split(":").reduce((total, part) => total * 60 + Number(part), 0);
  return days * 86_400 + seconds;
}

/**
 * Parse one line of `ps -A -o pid=,ppid=,pgid=,rss=,time=,state=` (rss in
 * KiB); null for a zombie or a line that is not a process.
 */
export function parsePsSampleLine(line: string): ProcessSample | null {
  const words = line.trim().split(/\s+/);
  if (words.length < 6) return null;
  const [pid, ppid, pgid, rssKib] = words.slice(0, 4).map(Number);
  if (![pid, ppid, pgid, rssKib].every(Number.isInteger)) return null;
  if (words[5].startsWith("Z")) return null;
  return { pid, ppid, pgid, rssBytes: rssKib * 1024, cpuSeconds: parsePsTime(words[4]) };
}

/** Options of the POSIX platforms. */
export interface PosixPlatformOptions {
  /** Where setpriv may live; the first that exists is used (checked once, on first use). */
  setprivPaths?: string[];
}

const DEFAULT_SETPRIV_PATHS = ["/usr/bin/setpriv", "/bin/setpriv"];

/** The shell line that appends the script's output to `$SCRIPTMON_LOG`, then execs it. */
export const DETACHED_SHELL_LINE = 'exec "$@" >>"$SCRIPTMON_LOG" 2>&1';

/** The `/bin/sh` invocation of `spawnDetached()`: argv goes in as positional parameters, never parsed. */
export function detachedShellArgs(argv: string[]): string[] {
  return ["-c", DETACHED_SHELL_LINE, "scriptmon-detached", ...argv];
}

/**
 * The tree guard's shell: on SIGUSR2 (its parent, the agent, died) kill the
 * group of each daemon-owned PID record in "$1", then exit; until then sleep.
 */
const GUARD_SHELL = `reap() {
  for f in "$1"/*.pid.json; do
    grep -q '"owner": "daemon"' "$f" 2>/dev/null || continue
    pid=$(sed -n 's/^  "pid": \\([0-9][0-9]*\\),$/\\1/p' "$f")
    [ -n "$pid" ] && kill -s KILL -- "-$pid" 2>/dev/null
  done
  kill "$nap" 2>/dev/null
  exit 0
}
trap 'reap "$1"' USR2
while :; do sleep 86400 & nap=$!; wait "$nap"; done`;

/** What both POSIX implementations share: signals, setpriv and detached starts. */
abstract class PosixBase implements Platform {
  abstract readonly name: "linux" | "posix";
  #setprivPaths: string[];
  #setpriv: string | null | undefined;
  #setsid: string | null | undefined;

  constructor(options: PosixPlatformOptions = {}) {
    this.#setprivPaths = options.setprivPaths ?? DEFAULT_SETPRIV_PATHS;
  }

  abstract inspect(pid: number): Promise<ProcessInfo | null>;
  abstract groupMembers(pgid: number): Promise<number[]>;
  abstract processTable(): Promise<ProcessSample[]>;

  spawnCommand(argv: string[]): { command: string; args: string[] } {
    if (argv.length === 0) throw new TypeError("Cannot build a command line: argv is empty");
    const setpriv = this.#findSetpriv();
    if (setpriv === null) return { command: argv[0], args: argv.slice(1) };
    return { command: setpriv, args: ["--pdeathsig", "KILL", "--", ...argv] };
  }

  /**
   * Deno.Command in a new session and process group (its pid is the group
   * id), with the setpriv wrapper. The child makes its own session by
   * exec'ing `setsid` (util-linux, beside setpriv): `detached: true` would have
   * Deno fork the whole agent to call setsid() before exec, about 2 ms of the
   * agent's time per start against 0.4 ms for the vfork-style spawn it can
   * use otherwise (bench/README.md). Without setsid, `detached: true`.
   */
  spawn(argv: string[], options: SpawnOptions): Promise<SpawnedChild> {
    const setsid = this.#findSetsid();
    const { command, args } = this.spawnCommand(setsid === null ? argv : [setsid, "--", ...argv]);
    const child = new Deno.Command(command, {
      args,
      cwd: options.cwd,
      clearEnv: true,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: setsid === null,
    }).spawn();
    return Promise.resolve(child);
  }

  /**
   * One small shell per agent, the guard: setpriv gives it SIGUSR2 when the
   * agent dies; it then SIGKILLs the process group of every daemon-owned PID
   * record (a script's pid is its group's id). It sleeps meanwhile (no
   * wake-ups). Each script keeps its own pdeathsig for its direct process;
   * the guard takes the rest of its tree (a wrapper's worker, a child that
   * ignores SIGTERM). Without setpriv there is no guard.
   */
  guardTrees(pidDir: string): Promise<TreeGuard | null> {
    const setpriv = this.#findSetpriv();
    if (setpriv === null) return Promise.resolve(null);
    const child = new Deno.Command(setpriv, {
      args: ["--pdeathsig", "USR2", "--", "/bin/sh", "-c", GUARD_SHELL, "scriptmon-guard", pidDir],
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin" },
      detached: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child.unref();
    const status = child.status;
    return Promise.resolve({
      pid: child.pid,
      async stop() {
        signalGroup(child.pid, "SIGKILL");
        await status;
      },
    });
  }

  signalTree(pid: number, signal: Deno.Signal): Promise<void> {
    signalGroup(pid, signal);
    return Promise.resolve();
  }

  killTree(pid: number): Promise<void> {
    signalGroup(pid, "SIGKILL");
    return Promise.resolve();
  }

  async spawnDetached(argv: string[], options: SpawnDetachedOptions): Promise<{ pid: number }> {
    if (argv.length === 0) throw new TypeError("Cannot start a detached script: argv is empty");
    try {
      (await Deno.open(options.logPath, { append: true, create: true })).close();
    } catch (error) {
      throw new Error(
        `Cannot start "${argv[0]}" detached: log file "${options.logPath}" cannot be opened`,
        { cause: error },
      );
    }
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("/bin/sh", {
        args: detachedShellArgs(argv),
        cwd: options.cwd,
        clearEnv: true,
        env: childEnv({ ...options.env, SCRIPTMON_LOG: options.logPath }),
        detached: true,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
    } catch (error) {
      throw new Error(`Cannot start "${argv[0]}" detached in "${options.cwd}"`, { cause: error });
    }
    child.unref();
    return { pid: child.pid };
  }

  /** util-linux's setsid, only where setpriv (the same package) is used. */
  #findSetsid(): string | null {
    if (this.#setsid !== undefined) return this.#setsid;
    const setpriv = this.#findSetpriv();
    const candidate = setpriv === null ? null : setpriv.replace(/setpriv$/, "setsid");
    this.#setsid = candidate !== null && isFile(candidate) ? candidate : null;
    return this.#setsid;
  }

  #findSetpriv(): string | null {
    if (this.#setpriv !== undefined) return this.#setpriv;
    this.#setpriv = null;
    for (const path of this.#setprivPaths) {
      try {
        if (Deno.statSync(path).isFile) {
          this.#setpriv = path;
          break;
        }
      } catch {
        // Not there: try the next one.
      }
    }
    return this.#setpriv;
  }
}

/**
 * A `/proc` file's text, or null when the process is gone. Read synchronously: procfs answers
 * from kernel memory, and an async read would cost a thread-pool hop and a wake-up of the
 * agent's main thread per file (the idle agent's largest source of wake-ups). Not for a
 * process just spawned: reading its files waits while it is in exec (`readProcTextAsync`).
 */
function readProcText(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    return goneOrThrow(error);
  }
}

/** As `readProcText`, off the main thread: for files whose read may wait on the process. */
async function readProcTextAsync(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    return goneOrThrow(error);
  }
}

function goneOrThrow(error: unknown): null {
  if (error instanceof Deno.errors.NotFound) return null;
  // ESRCH when the process vanishes between open and read: Deno says "No such process
  // (os error 3)", with the code on the error where it sets one.
  if (
    error instanceof Error &&
    (Reflect.get(error, "code") === "ESRCH" ||
      /ESRCH|No such process|os error 3\)/.test(error.message))
  ) {
    return null;
  }
  throw error;
}

const DEFAULT_PROC_UNITS: ProcUnits = { ticksPerSecond: 100, pageSize: 4096 };

/** `getconf NAME` as a positive integer, or `fallback` when getconf is missing or odd. */
async function getconf(name: string, fallback: number): Promise<number> {
  try {
    const output = await new Deno.Command("getconf", {
      args: [name],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    const value = Number(new TextDecoder().decode(output.stdout).trim());
    return output.success && Number.isInteger(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}

/** Linux: everything read from `/proc`. */
export class LinuxPlatform extends PosixBase {
  readonly name = "linux";
  #procRoot = "/proc";
  #bootId: Promise<string> | undefined;
  #units: Promise<ProcUnits> | undefined;

  async inspect(pid: number): Promise<ProcessInfo | null> {
    checkPid(pid);
    const bootId = await this.#readBootId();
    const stat = await this.#liveStat(pid);
    if (stat === null) return null;
    const cmdline = await readProcTextAsync(`${this.#procRoot}/${pid}/cmdline`);
    // Read stat again: the pid must still be the same process.
    const again = await this.#liveStat(pid);
    if (cmdline === null || again?.startTicks !== stat.startTicks) return null;
    return {
      pid,
      ppid: stat.ppid,
      pgid: stat.pgid,
      startTime: `${bootId}:${stat.startTicks}`,
      commandLine: parseProcCmdline(cmdline),
    };
  }

  /** One read of `/proc/<pid>/stat` (`inspect` reads three files). */
  async startTimeOf(pid: number): Promise<string | null> {
    checkPid(pid);
    const stat = await this.#liveStat(pid);
    return stat === null ? null : `${await this.#readBootId()}:${stat.startTicks}`;
  }

  /** A live process's `/proc/<pid>/stat`, off the main thread (a read waits while it execs). */
  async #liveStat(pid: number): Promise<ReturnType<typeof parseProcStat> | null> {
    const text = await readProcTextAsync(`${this.#procRoot}/${pid}/stat`);
    const stat = text === null ? null : parseProcStat(text);
    return stat === null || stat.state === "Z" || stat.state === "X" ? null : stat;
  }

  groupMembers(pgid: number): Promise<number[]> {
    return Promise.try(() => this.#groupMembers(pgid));
  }

  #groupMembers(pgid: number): number[] {
    checkPid(pgid);
    // One kill(-pgid, 0) answers the usual case, an empty group, without reading all of /proc
    // (which a crash-looping script would otherwise pay on every exit).
    if (!groupExists(pgid)) return [];
    const members: number[] = [];
    for (const entry of Deno.readDirSync(this.#procRoot)) {
      if (!/^\d+$/.test(entry.name)) continue;
      const text = readProcText(`${this.#procRoot}/${entry.name}/stat`);
      if (text === null) continue;
      const stat = parseProcStat(text);
      if (stat.pgid === pgid && stat.state !== "Z" && stat.state !== "X") {
        members.push(Number(entry.name));
      }
    }
    return members.sort((a, b) => a - b);
  }

  /** One pass over `/proc/<pid>/stat`; vanished processes and zombies are left out. */
  async processTable(): Promise<ProcessSample[]> {
    const units = await this.#readUnits();
    const samples: ProcessSample[] = [];
    for (const entry of Deno.readDirSync(this.#procRoot)) {
      if (!/^\d+$/.test(entry.name)) continue;
      const text = readProcText(`${this.#procRoot}/${entry.name}/stat`);
      const sample = text === null ? null : parseProcSample(text, units);
      if (sample !== null) samples.push(sample);
    }
    return samples;
  }

  #readUnits(): Promise<ProcUnits> {
    this.#units ??= Promise.all([
      getconf("CLK_TCK", DEFAULT_PROC_UNITS.ticksPerSecond),
      getconf("PAGESIZE", DEFAULT_PROC_UNITS.pageSize),
    ]).then(([ticksPerSecond, pageSize]) => ({ ticksPerSecond, pageSize }));
    return this.#units;
  }

  #readBootId(): Promise<string> {
    this.#bootId ??= Deno.readTextFile(`${this.#procRoot}/sys/kernel/random/boot_id`)
      .then((text) => text.trim());
    return this.#bootId;
  }
}

async function runPs(args: string[]): Promise<string> {
  const output = await new Deno.Command("ps", { args, stdout: "piped", stderr: "null" }).output();
  // ps exits 1 when no process matched.
  return new TextDecoder().decode(output.stdout);
}

/** Other Unixes (macOS): a minimal `ps` fallback; the command line is split on whitespace. */
export class PosixPlatform extends PosixBase {
  readonly name = "posix";

  async inspect(pid: number): Promise<ProcessInfo | null> {
    checkPid(pid);
    const out = await runPs(["-o", "pid=,ppid=,pgid=,lstart=,args=", "-p", String(pid)]);
    const state = (await runPs(["-o", "state=", "-p", String(pid)])).trim();
    if (state.startsWith("Z")) return null;
    const line = out.split("\n").find((l) => l.trim() !== "");
    return line === undefined ? null : parsePsLine(line);
  }

  async groupMembers(pgid: number): Promise<number[]> {
    checkPid(pgid);
    const out = await runPs(["-A", "-o", "pid=,pgid=,state="]);
    const members: number[] = [];
    for (const line of out.split("\n")) {
      const [pid, group, state] = line.trim().split(/\s+/);
      if (Number(group) === pgid && !state?.startsWith("Z")) members.push(Number(pid));
    }
    return members.sort((a, b) => a - b);
  }

  /** One `ps -A` call; rss from KiB, CPU from the `time` column (whole seconds on most systems). */
  async processTable(): Promise<ProcessSample[]> {
    const out = await runPs(["-A", "-o", "pid=,ppid=,pgid=,rss=,time=,state="]);
    const samples: ProcessSample[] = [];
    for (const line of out.split("\n")) {
      const sample = parsePsSampleLine(line);
      if (sample !== null) samples.push(sample);
    }
    return samples;
  }
}
