/**
 * Running the agent as a Windows program for the Windows lane: the unzipped
 * `deno task dist` folder (SCRIPTMON_WINDOWS_AGENT), its `scriptmon-agent.cmd`
 * launcher, real `.cmd` and `deno.exe` children. Runs only on Windows (under
 * Wine in the lane: scripts/windows_lane.sh).
 *
 * @module
 */
import { join } from "node:path";
import { platform } from "../../agent/platform/mod.ts";

/** The unzipped agent folder. */
export const AGENT_DIR = Deno.env.get("SCRIPTMON_WINDOWS_AGENT") ?? "";
/** The launcher a person runs. */
export const LAUNCHER = join(AGENT_DIR, "scriptmon-agent.cmd");
/** The zip's Deno, used for fixture scripts too. */
export const DENO = join(AGENT_DIR, "deno.exe");
/** Wine starts processes 10–20× slower than Windows: waits are generous, and event-driven. */
export const WAIT_MS = 90_000;

/** Waits until `check` gives a value; fails naming `what` after `ms`. Polls every 100 ms. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  ms = WAIT_MS,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < ms / 100 + 1; i++) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${ms / 1000}s waiting for ${what}`);
}

/** A temp folder removed at the end of the test. */
export async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "scriptmon-win-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** A TOML literal string (no escapes: Windows paths stay as they are). */
export function lit(text: string): string {
  return `'${text}'`;
}

/** A TOML array of literal strings. */
export function argv(...words: string[]): string {
  return `[${words.map(lit).join(", ")}]`;
}

/** Writes scriptmon.toml into `dir` with these `[scripts.*]` tables; returns its path. */
export async function writeConfig(dir: string, scripts: string, extra = ""): Promise<string> {
  const path = join(dir, "scriptmon.toml");
  await Deno.writeTextFile(
    path,
    `[agent]\nsite = "WIN1"\ndata_dir = "data"\napi_port = 0\nlog_level = "debug"\n${extra}\n` +
      `[defaults]\nstop_timeout = "20s"\n[defaults.restart]\nmin_delay = "100ms"\njitter = 0.0\n\n` +
      scripts,
  );
  return path;
}

/** Runs the launcher with `args` to its end. */
export async function agentCli(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(LAUNCHER, { args, stdin: "null", env: { NO_COLOR: "1" } })
    .output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Whether a process with this pid runs now (Windows' own answer, through kernel32). */
export async function alive(pid: number): Promise<boolean> {
  return (await platform.inspect(pid)) !== null;
}

/**
 * Ends a launcher run (`scriptmon-agent.cmd …`) and its deno.exe: `kill()` would end only
 * the cmd.exe, and the deno.exe under it would keep the output pipe open.
 */
export async function endTree(child: Deno.ChildProcess): Promise<void> {
  await new Deno.Command("taskkill.exe", {
    args: ["/PID", String(child.pid), "/T", "/F"],
    stdout: "null",
    stderr: "null",
  }).output();
  await child.status;
}

/**
 * Deno 2.9 on Wine 10 can panic in mio's named-pipe code ("named_pipe.rs … internal error:
 * entered unreachable code") when a child's output pipe breaks just as a read is queued: Wine
 * then posts a completion that Windows does not post for a read that failed at once. It is a
 * Wine bug, not the agent's, and rare (twice in about forty lane runs).
 */
const WINE_PIPE_PANIC = /named_pipe\.rs:\d+:\d+:\s+internal error: entered unreachable code/;

/** The agents started by the test that runs now. */
const agentsOfTest: WinAgent[] = [];

/**
 * `Deno.test` for the lane: a test whose agent died of the Wine pipe panic above runs once
 * more, saying so on stderr. Any other failure, or the panic twice, fails the test.
 */
export function laneTest(
  name: string,
  fn: () => Promise<void>,
  options: { ignore?: boolean } = {},
): void {
  Deno.test({
    name,
    ...options,
    fn: async () => {
      for (let attempt = 1;; attempt++) {
        agentsOfTest.length = 0;
        try {
          return await fn();
        } catch (error) {
          const logs = await Promise.all(agentsOfTest.map((agent) => agent.stderr()));
          if (attempt > 1 || !logs.some((log) => WINE_PIPE_PANIC.test(log))) throw error;
          console.error(
            `"${name}": the agent died of Wine's named-pipe panic (a Wine bug); running it again`,
          );
        }
      }
    },
  });
}

/** Task Manager's End task: TerminateProcess of `pid` (`taskkill /F`); taskkill's exit code. */
export async function endTask(pid: number): Promise<number> {
  const out = await new Deno.Command("taskkill.exe", {
    args: ["/PID", String(pid), "/F"],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.code;
}

/** One script as `GET /api/status` shows it. */
export interface ScriptRow {
  name: string;
  state: string;
  pid?: number | null;
  restarts?: number;
  reason?: string | null;
  heartbeat?: { lastPingAt: string | null } | null;
}

/** The daemon, `run --config`, started through the launcher. */
export class WinAgent implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly dataDir: string;
  #stderr: Promise<string>;
  #exit: { code: number } | null = null;
  #log = "";

  constructor(configPath: string) {
    const child = new Deno.Command(LAUNCHER, {
      args: ["run", "--config", configPath],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.child = child;
    this.dataDir = join(configPath, "..", "data");
    this.#stderr = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) {
        this.#log += decoder.decode(chunk, { stream: true });
      }
      return this.#log;
    })();
    this.child.status.then((status) => this.#exit = status);
    agentsOfTest.push(this);
  }

  /** The agent's log output (complete once it has exited). */
  stderr(): Promise<string> {
    return this.#stderr;
  }

  /** The agent's own pid (deno.exe under the launcher's cmd.exe) and its local API port. */
  async ready(): Promise<{ pid: number; port: number }> {
    return await until("the agent's local API", async () => {
      if (this.#exit !== null) {
        throw new Error(`the agent exited with ${this.#exit.code}: ${await this.#stderr}`);
      }
      try {
        const holder = JSON.parse(await Deno.readTextFile(join(this.dataDir, "agent.holder.json")));
        if (typeof holder.apiPort !== "number") return undefined;
        const res = await fetch(`http://127.0.0.1:${holder.apiPort}/healthz`, {
          signal: AbortSignal.timeout(10_000),
        });
        await res.body?.cancel();
        return res.ok ? { pid: holder.pid as number, port: holder.apiPort as number } : undefined;
      } catch {
        return undefined;
      }
    });
  }

  /** The scripts as the local API shows them. */
  async scripts(): Promise<ScriptRow[]> {
    const { port } = await this.ready();
    return (await (await fetch(`http://127.0.0.1:${port}/api/status`, {
      signal: AbortSignal.timeout(10_000),
    })).json()).scripts;
  }

  /** Waits until `name` matches `test`; returns its row. A timeout shows the last row and log. */
  async script(name: string, what: string, test: (row: ScriptRow) => boolean): Promise<ScriptRow> {
    let last: ScriptRow | undefined;
    try {
      return await until(`${name} ${what}`, async () => {
        last = (await this.scripts()).find((s) => s.name === name);
        return last && test(last) ? last : undefined;
      });
    } catch (error) {
      throw new Error(
        `${(error as Error).message}; last seen ${JSON.stringify(last)}; its log ends ${
          JSON.stringify(await this.logTail(name))
        }; the agent's log: ${JSON.stringify(this.#agentLog(name))}`,
      );
    }
  }

  /** The agent's first and last log lines about `script` (and its own errors). */
  #agentLog(script: string): string {
    const lines = this.#log.split("\n").filter((l) =>
      l.includes(`script·${script}:`) || l.includes("[ERR]") || l.startsWith("scriptmon-agent:")
    );
    return [...lines.slice(0, 6), ...(lines.length > 9 ? ["…"] : []), ...lines.slice(6).slice(-3)]
      .join("\n");
  }

  /** The last 600 characters of a script's log. */
  async logTail(script: string): Promise<string> {
    const file = join(this.dataDir, "logs", `${script}.log`);
    return (await Deno.readTextFile(file).catch(() => "")).slice(-600);
  }

  /** Waits until the script's log matches `pattern`; a timeout shows its state and log. */
  async logMatch(script: string, pattern: RegExp): Promise<RegExpExecArray> {
    const file = join(this.dataDir, "logs", `${script}.log`);
    try {
      return await until(
        `${pattern} in ${file}`,
        async () => pattern.exec(await Deno.readTextFile(file).catch(() => "")) ?? undefined,
      );
    } catch (error) {
      const row = (await this.scripts().catch(() => [])).find((s) => s.name === script);
      throw new Error(
        `${(error as Error).message}; state ${JSON.stringify(row)}; log ends ${
          JSON.stringify(await this.logTail(script))
        }; the agent's log: ${JSON.stringify(this.#agentLog(script))}`,
      );
    }
  }

  /**
   * Stops the agent: TerminateProcess on its deno.exe (read from its holder record), as Task
   * Manager's End task would (its scripts' kill-on-close jobs end them), then on the launcher.
   */
  async [Symbol.asyncDispose]() {
    const holder = await Deno.readTextFile(join(this.dataDir, "agent.holder.json"))
      .then((text) => JSON.parse(text) as { pid?: number }).catch(() => ({ pid: undefined }));
    for (const pid of [holder.pid, this.child.pid]) {
      if (typeof pid !== "number") continue;
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // already exited
      }
    }
    await this.child.status;
    await this.#stderr;
  }
}

// ---- fixtures ----

/** A deno.exe program that runs until it is stopped. */
export const SLEEP = "setInterval(() => {}, 1000)";

/** A fixture file in `dir`, Windows line ends for a .cmd. */
export async function fixture(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await Deno.writeTextFile(path, name.endsWith(".cmd") ? text.replaceAll("\n", "\r\n") : text);
  return path;
}

/** A cmd.exe running a deno.exe that starts another deno.exe; the pids of both go to pids.txt. */
export async function threeLevelTree(dir: string): Promise<string> {
  const parent = await fixture(
    dir,
    "parent.ts",
    `const child = new Deno.Command(Deno.execPath(), { args: ["eval", ${
      JSON.stringify(SLEEP)
    }], stdout: "null" }).spawn();\n` +
      `await Deno.writeTextFile(Deno.args[0], Deno.pid + " " + child.pid);\n` +
      `console.log("tree up");\n${SLEEP};\n`,
  );
  await fixture(dir, "tree.cmd", `@"${DENO}" run -A "${parent}" "${join(dir, "pids.txt")}"\n`);
  return `command = ["cmd.exe", "/d", "/c", "tree.cmd"]\ncwd = ${lit(dir)}\nstop_timeout = "3s"\n`;
}

/** The two deno.exe pids of {@linkcode threeLevelTree}, once it wrote them. */
export async function treePids(dir: string): Promise<number[]> {
  return await until("the tree's pids", async () => {
    const text = await Deno.readTextFile(join(dir, "pids.txt")).catch(() => "");
    const pids = text.trim().split(" ").map(Number).filter((n) => n > 0);
    return pids.length === 2 ? pids : undefined;
  });
}
