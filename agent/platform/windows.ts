/**
 * The Windows platform. Each script runs in its own Job Object that kills
 * every process in it when closed: stopping a script ends its whole tree, and
 * when the agent dies, however it dies, Windows closes its handles and ends
 * every script tree with it. Scripts start without a console window. Process
 * facts come from kernel32/ntdll through FFI (`_win32.ts`), in milliseconds;
 * `taskkill /T /F` stays for trees the agent holds no job of.
 *
 * @module
 */

import { spawn as nodeSpawn } from "node:child_process";
import { Readable } from "node:stream";
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
import { formatDuration } from "../../shared/config/units.ts";
import { FfiWin32, type Handle, type SnapshotEntry, type Win32 } from "./_win32.ts";
import {
  checkPid,
  detachedCmdLine,
  splitCommandLine,
  TASKKILL_NOT_FOUND,
  taskkillArgs,
} from "./_win_cmdline.ts";
import { type CtrlEvent, ctrlEventFor } from "./_win_console.ts";

/** Runs a program to its end: how the platform calls taskkill and the console signaller. */
export type RunProgram = (
  program: string,
  args: string[],
) => Promise<{ code: number; stderr: string }>;

/** What the Windows platform is built from; tests pass stand-ins. */
export interface WindowsDeps {
  win32?: Win32;
  run?: RunProgram;
  /**
   * The argv that runs this agent's `ctrl-event <pid> <c|break>` command, or null when
   * there is no way to (then a stop asks taskkill to close the tree's windows instead).
   */
  signaller?: string[] | null;
  /** Starts a process hidden; `node:child_process.spawn` by default. */
  spawnHidden?: typeof nodeSpawn;
}

/** How often and how long `spawnDetached()` looks for the script under its cmd.exe. */
const CHILD_LOOKUPS = 20;
const CHILD_LOOKUP_DELAY_MS = 100;

/** A creation time from this century up to a day ahead of this clock (a skew allowance). */
export function plausibleStart(iso: string): boolean {
  const at = Date.parse(iso);
  return Number.isFinite(at) && at >= Date.UTC(2000, 0, 1) && at <= Date.now() + 86_400_000;
}

/** Windows through Job Objects and kernel32; taskkill for trees without a job. */
export class WindowsPlatform implements Platform {
  readonly name = "windows";
  readonly #win32: Win32;
  readonly #run: RunProgram;
  readonly #signaller: string[] | null;
  readonly #spawn: typeof nodeSpawn;
  /** The job of every script tree this agent started, by the script's pid. */
  readonly #jobs = new Map<number, Handle>();

  constructor(deps: WindowsDeps = {}) {
    this.#win32 = deps.win32 ?? new FfiWin32();
    this.#run = deps.run ?? runProgram;
    this.#signaller = deps.signaller === undefined ? selfSignaller() : deps.signaller;
    this.#spawn = deps.spawnHidden ?? nodeSpawn;
  }

  /** None needed: every script's job is closed by Windows when the agent dies, ending its tree. */
  guardTrees(_pidDir: string): Promise<TreeGuard | null> {
    return Promise.resolve(null);
  }

  async inspect(pid: number): Promise<ProcessInfo | null> {
    checkPid(pid);
    let facts = this.#win32.processFacts(pid);
    // A process that has only just been created may report a creation time that is no time at
    // all (Wine: 0x5555555555555555, the year 21086): ask again before trusting it, since a PID
    // record keeps it to recognize the process later.
    for (let tries = 0; facts !== null && !plausibleStart(facts.startTime) && tries < 20; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      facts = this.#win32.processFacts(pid);
    }
    if (facts === null) return null;
    const commandLine = facts.commandLine
      ? splitCommandLine(facts.commandLine)
      : facts.image
      ? [facts.image]
      : [];
    return { pid, ppid: facts.ppid, startTime: facts.startTime, commandLine };
  }

  spawnCommand(argv: string[]): { command: string; args: string[] } {
    if (argv.length === 0) throw new TypeError("Cannot build a command line: argv is empty");
    return { command: argv[0], args: argv.slice(1) };
  }

  /**
   * `node:child_process.spawn` with `windowsHide` (Deno then creates the
   * process with CREATE_NO_WINDOW: a console program gets a console without a
   * window, and its own console children share it), then the process goes
   * into a new kill-on-close job at once, so the children it starts are in
   * the job too.
   */
  async spawn(argv: string[], options: SpawnOptions): Promise<SpawnedChild> {
    if (argv.length === 0) throw new TypeError("Cannot start a script: argv is empty");
    const job = this.#win32.createKillOnCloseJob();
    const child = this.#spawn(argv[0], argv.slice(1), {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
      windowsHide: true,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once("spawn", resolve);
        child.once("error", reject);
      });
    } catch (error) {
      this.#win32.close(job);
      throw new Error(`Cannot start "${argv[0]}": ${(error as Error).message}`, { cause: error });
    }
    const pid = child.pid!;
    // False when it already ended: nothing of its tree to hold.
    if (this.#win32.assignToJob(job, pid)) this.#jobs.set(pid, job);
    else this.#win32.close(job);
    const status = new Promise<{ code: number; signal: string | null }>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code: code ?? 1, signal }));
    });
    return {
      pid,
      stdout: Readable.toWeb(child.stdout!) as ReadableStream<Uint8Array>,
      stderr: Readable.toWeb(child.stderr!) as ReadableStream<Uint8Array>,
      status,
    };
  }

  /**
   * Asks the tree to stop: `SIGINT` is a Ctrl-C and any other signal a
   * Ctrl-Break, sent to the script's console (every process of its tree shares
   * it) by the agent's own `ctrl-event` command; `SIGKILL` ends the job at
   * once. Without a way to send the event, taskkill asks the tree's windows to
   * close (console programs ignore that; the caller kills after stop_timeout).
   */
  async signalTree(pid: number, signal: Deno.Signal): Promise<void> {
    checkPid(pid);
    if (signal === "SIGKILL") return this.killTree(pid);
    if (this.#signaller !== null) {
      const [program, ...args] = this.#signaller;
      const event: CtrlEvent = ctrlEventFor(signal);
      const result = await this.#run(program, [...args, "ctrl-event", String(pid), event]);
      if (result.code === 0) return;
    }
    await this.#taskkill(pid, { force: false });
  }

  /** Ends the script's job (its whole tree); taskkill /T /F for a tree the agent holds no job of. */
  killTree(pid: number): Promise<void> {
    checkPid(pid);
    const job = this.#jobs.get(pid);
    if (job === undefined) return this.#taskkill(pid, { force: true });
    this.#win32.terminateJob(job, 1);
    this.#release(pid);
    return Promise.resolve();
  }

  /**
   * The processes of the script's tree: its job's members; for a tree
   * without a job, the process and its descendants from a snapshot. A job
   * found empty is closed.
   */
  groupMembers(pgid: number): Promise<number[]> {
    checkPid(pgid);
    const job = this.#jobs.get(pgid);
    if (job !== undefined) {
      const pids = this.#win32.jobPids(job);
      if (pids.length === 0) this.#release(pgid);
      return Promise.resolve(pids.sort((a, b) => a - b));
    }
    return Promise.resolve(this.#descendants(pgid));
  }

  /** One snapshot of every process, with each one's working set and CPU time. */
  processTable(): Promise<ProcessSample[]> {
    const samples: ProcessSample[] = [];
    for (const entry of this.#win32.snapshot()) {
      if (entry.pid === 0) continue; // the idle process
      const used = this.#win32.resources(entry.pid);
      samples.push({
        pid: entry.pid,
        ppid: entry.ppid,
        rssBytes: used?.rssBytes ?? 0,
        cpuSeconds: used?.cpuSeconds ?? 0,
      });
    }
    return Promise.resolve(samples);
  }

  /**
   * Starts the script under `cmd.exe` (which appends its output to the log),
   * then returns the script's own pid, so that its PID record matches its
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
      const script = this.#win32.snapshot().find((row) =>
        row.ppid === child.pid && !/^conhost\.exe$/i.test(row.name)
      );
      if (script !== undefined) return { pid: script.pid };
      if (this.#win32.processFacts(child.pid) === null) break;
      await new Promise((resolve) => setTimeout(resolve, CHILD_LOOKUP_DELAY_MS));
    }
    return { pid: child.pid };
  }

  #release(pid: number): void {
    const job = this.#jobs.get(pid);
    if (job === undefined) return;
    this.#jobs.delete(pid);
    this.#win32.close(job);
  }

  /** `root` and its live descendants; a child older than its parent is a reused pid, not followed. */
  #descendants(root: number): number[] {
    const rows = this.#win32.snapshot();
    const started = (pid: number) => {
      const facts = this.#win32.processFacts(pid);
      return facts === null ? null : Date.parse(facts.startTime);
    };
    return descendantsOf(rows, root, started);
  }

  async #taskkill(pid: number, options: { force: boolean }): Promise<void> {
    const result = await this.#run("taskkill.exe", taskkillArgs(pid, options));
    // Without /F, console programs refuse WM_CLOSE: the caller escalates to killTree after its timeout.
    if (result.code === 0 || result.code === TASKKILL_NOT_FOUND || !options.force) return;
    throw new Error(`taskkill /F of pid ${pid} failed (exit ${result.code}): ${result.stderr}`);
  }
}

/**
 * The live process `root` and all its descendants, sorted. A child counts
 * only if it started after its parent (`started` gives a live pid's start
 * in ms), so a reused parent pid is not followed.
 */
export function descendantsOf(
  rows: SnapshotEntry[],
  root: number,
  started: (pid: number) => number | null,
): number[] {
  const children = new Map<number, number[]>();
  for (const row of rows) {
    if (row.ppid === row.pid) continue;
    children.set(row.ppid, [...(children.get(row.ppid) ?? []), row.pid]);
  }
  const rootStart = started(root);
  if (rootStart === null) return [];
  const found = [root];
  const queue: Array<[number, number]> = [[root, rootStart]];
  const seen = new Set([root]);
  while (queue.length > 0) {
    const [parent, parentStart] = queue.shift()!;
    for (const child of children.get(parent) ?? []) {
      if (seen.has(child)) continue;
      const childStart = started(child);
      if (childStart === null || childStart < parentStart) continue;
      seen.add(child);
      found.push(child);
      queue.push([child, childStart]);
    }
  }
  return found.sort((a, b) => a - b);
}

/** The argv that runs this agent's `ctrl-event` command: the compiled binary, or deno and its main module. */
export function selfSignaller(
  execPath = Deno.execPath(),
  mainModule = Deno.mainModule,
): string[] | null {
  const exe = execPath.split(/[\\/]/).pop() ?? "";
  if (!/^deno(\.exe)?$/i.test(exe)) return [execPath];
  // Only the agent's own entry points know `ctrl-event` (not a test file, not the REPL).
  if (!/(agent[\\/]main\.ts|scriptmon-agent\.js)$/.test(mainModule)) return null;
  return [execPath, "run", "--allow-all", "--unstable-kv", mainModule];
}

/**
 * How long taskkill or the console signaller may take before it is ended: a
 * helper that hangs (Wine's console emulation does) must not hang a stop.
 */
const RUN_TIMEOUT_MS = 5000;

async function runProgram(
  program: string,
  args: string[],
): Promise<{ code: number; stderr: string }> {
  const timeout = AbortSignal.timeout(RUN_TIMEOUT_MS);
  const output = await new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal: timeout,
  }).output();
  const stderr = new TextDecoder().decode(output.stderr).trim();
  if (timeout.aborted) {
    return {
      code: -1,
      stderr: `${program} did not finish within ${formatDuration(RUN_TIMEOUT_MS)}`,
    };
  }
  return { code: output.code, stderr };
}
