/** Running the real agent CLI as a separate process, the way a user does. */
import { join, resolve } from "node:path";
import type { StatusBody } from "../agent/local_api/mod.ts";
import { until } from "./_helpers.ts";
import { agentFlags } from "../scripts/agent_flags.ts";

const MAIN = resolve(import.meta.dirname!, "..", "agent", "main.ts");

/** The argv that runs the agent CLI with `args`. */
export function agentArgv(...args: string[]): string[] {
  return [Deno.execPath(), "run", ...agentFlags(), MAIN, ...args];
}

/** Runs one CLI command to completion. */
export async function agentCli(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, ...rest] = agentArgv(...args);
  const out = await new Deno.Command(cmd, { args: rest, stdin: "null", env: { NO_COLOR: "1" } })
    .output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Writes an agent config into `dir` with the given `[scripts.*]` TOML; returns its path. */
export async function writeConfig(dir: string, scripts: string, extra = ""): Promise<string> {
  const path = join(dir, "scriptmon.toml");
  await Deno.writeTextFile(
    path,
    `[agent]\nsite = "TEST1"\ndata_dir = "data"\napi_port = 0\nlog_level = "debug"\n${extra}\n` +
      `[defaults]\nstop_timeout = "2s"\n[defaults.restart]\nmin_delay = "50ms"\njitter = 0.0\n\n` +
      scripts,
  );
  return path;
}

/** A `[scripts.<name>]` table running a fixture with this Deno. */
export function fixtureScript(name: string, fixture: string, ...args: string[]): string {
  const argv = [
    Deno.execPath(),
    "run",
    "--allow-all",
    resolve(import.meta.dirname!, "fixtures", fixture),
    ...args,
  ];
  return `[scripts.${name}]\ncommand = ${JSON.stringify(argv)}\n\n`;
}

/** A daemon (`run`) started in the background. */
export class AgentProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly dataDir: string;
  #stderr: Promise<string>;

  /** Starts `run --config configPath`, with `options.env` added to the environment. */
  constructor(configPath: string, options: { env?: Record<string, string> } = {}) {
    const [cmd, ...args] = agentArgv("run", "--config", configPath);
    this.child = new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1", ...options.env },
    }).spawn();
    this.dataDir = join(configPath, "..", "data");
    this.#stderr = new Response(this.child.stderr).text();
  }

  /** The agent's own log output so far (complete once it has exited). */
  stderr(): Promise<string> {
    return this.#stderr;
  }

  /** Waits until the local API answers; returns its port. */
  async ready(): Promise<number> {
    return await until("the agent's local API", async () => {
      try {
        const holder = JSON.parse(await Deno.readTextFile(join(this.dataDir, "agent.holder.json")));
        if (typeof holder.apiPort !== "number" || holder.pid !== this.child.pid) return undefined;
        const res = await fetch(`http://127.0.0.1:${holder.apiPort}/healthz`);
        await res.body?.cancel();
        return res.ok ? holder.apiPort as number : undefined;
      } catch {
        return undefined;
      }
    });
  }

  /** Waits until the script's log file matches `pattern`; returns the match. */
  async logMatch(script: string, pattern: RegExp): Promise<RegExpExecArray> {
    const file = join(this.dataDir, "logs", `${script}.log`);
    return await until(
      `${pattern} in ${file}`,
      async () => pattern.exec(await Deno.readTextFile(file).catch(() => "")) ?? undefined,
    );
  }

  /** `GET /api/status`. */
  async status(): Promise<StatusBody> {
    const port = await this.ready();
    return await (await fetch(`http://127.0.0.1:${port}/api/status`)).json();
  }

  /** Waits until every named script is running; returns their statuses by name. */
  async running(...names: string[]) {
    return await until(`${names.join(", ")} running`, async () => {
      const { scripts } = await this.status();
      const found = names.map((n) => scripts.find((s) => s.name === n));
      return found.every((s) => s?.state === "running" && s.pid)
        ? Object.fromEntries(found.map((s) => [s!.name, s!]))
        : undefined;
    });
  }

  /** Stops the agent with SIGTERM (if still running) and awaits its exit. */
  async [Symbol.asyncDispose]() {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // already exited
    }
    await this.child.status;
    await this.#stderr;
  }
}
