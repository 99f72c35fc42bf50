/**
 * The operating-system layer of the agent: one interface, implemented by
 * `posix.ts` and `windows.ts`, picked once in `mod.ts`.
 */

/** What the OS reports about one live process. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Process group id (POSIX only). */
  pgid?: number;
  /**
   * Opaque, stable for the life of a process and different for a later
   * process that reuses the pid. Linux: `"<boot_id>:<starttime ticks>"`;
   * Windows: the process's creation time as an ISO string in UTC.
   */
  startTime: string;
  /** argv as the OS reports it; on Windows the CommandLine split by CommandLineToArgvW rules. */
  commandLine: string[];
}

/** Where and how a detached script is started by `Platform.spawnDetached()`. */
export interface SpawnDetachedOptions {
  cwd: string;
  /** Added to the agent's own environment. */
  env: Record<string, string>;
  /** The script's stdout and stderr are appended to this file. */
  logPath: string;
}

/** Where and how a supervised script is started by `Platform.spawn()`. */
export interface SpawnOptions {
  cwd: string;
  /** The whole environment of the child (nothing else is inherited). */
  env: Record<string, string>;
}

/** A script the agent started and owns: its pid, output pipes and end. */
export interface SpawnedChild {
  readonly pid: number;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  /** How it ended: an exit code, or the signal that ended it (POSIX). */
  readonly status: Promise<{ code: number; signal: string | null }>;
}

/** One process's resources, from a snapshot of the whole process table. */
export interface ProcessSample {
  pid: number;
  ppid: number;
  /** POSIX process group; undefined on Windows. */
  pgid?: number;
  rssBytes: number;
  /** User + system CPU time so far, in seconds. */
  cpuSeconds: number;
}

/** A running tree guard; `stop()` ends it (the agent stopped its scripts itself). */
export interface TreeGuard {
  readonly pid: number;
  stop(): Promise<void>;
}

/** Inspect, start and stop processes and their trees on one operating system. */
export interface Platform {
  /** Which implementation this is. */
  readonly name: "linux" | "windows" | "posix";
  /** The live process with this pid, or null when there is none (a zombie counts as none). */
  inspect(pid: number): Promise<ProcessInfo | null>;
  /**
   * Just the start time `inspect` would give (null when there is no such live process), where
   * it is cheaper: for a child the agent has just started, whose command line it knows.
   */
  startTimeOf?(pid: number): Promise<string | null>;
  /**
   * How a daemon-owned script is launched so that it dies with the agent
   * (Linux: wrapped in `setpriv --pdeathsig KILL` when setpriv exists).
   */
  spawnCommand(argv: string[]): { command: string; args: string[] };
  /**
   * Starts a script the agent owns, stdin closed, stdout and stderr piped:
   * POSIX in its own process group, Windows in its own Job Object (the whole
   * tree ends when the job does, or when the agent dies) without a console window.
   *
   * @throws {Error} when the process cannot be created.
   */
  spawn(argv: string[], options: SpawnOptions): Promise<SpawnedChild>;
  /** Ask the script's whole tree to stop (POSIX: the signal to its process group). */
  signalTree(pid: number, signal: Deno.Signal): Promise<void>;
  /** Stop the script's whole tree forcibly. */
  killTree(pid: number): Promise<void>;
  /** Live pids still in the process group `pgid` (Windows: the process and its descendants). */
  groupMembers(pgid: number): Promise<number[]>;
  /**
   * Starts the guard that takes the daemon's script trees down with the agent
   * if it dies without stopping them (SIGKILL): it kills the process group of
   * every PID record of `pidDir` the daemon owns. Null where the platform has
   * no such guard (the records still find survivors at the next start).
   */
  guardTrees(pidDir: string): Promise<TreeGuard | null>;
  /** Start a script that outlives the agent, its output appended to `options.logPath`. */
  spawnDetached(argv: string[], options: SpawnDetachedOptions): Promise<{ pid: number }>;
  /**
   * Every live process's memory and CPU time in one pass (Linux: one read of
   * /proc; Windows: one CIM query), for sampling many scripts cheaply.
   */
  processTable(): Promise<ProcessSample[]>;
}
