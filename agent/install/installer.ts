/**
 * `install`, `uninstall` and the installed state: a Task Scheduler task at
 * logon on Windows (`schtasks`), a systemd user unit elsewhere (`systemctl
 * --user`). The programs are run through `run`, so tests record the calls.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../supervise/mod.ts";
import { agentCommand } from "./agent_command.ts";
import { systemdUnitPath } from "./unit_path.ts";
import { UNIT_NAME, userUnit } from "./systemd_unit.ts";
import { decodeSchtasks, TASK_NAME, taskAction, taskXml, utf16le } from "./windows_task.ts";

/** Runs a program to its end. */
export type RunProgram = (
  program: string,
  args: string[],
) => Promise<{ code: number; stdout: string; stderr: string }>;

/** Whether and how the agent starts at logon. */
export interface InstallState {
  installed: boolean;
  /** "Task Scheduler task scriptmon-agent" or "systemd user unit scriptmon-agent.service". */
  how: string;
  /** Where: the unit file, or the task's name. */
  where: string;
  /** The command it runs, when installed and readable. */
  command?: string;
  /** systemd's `is-active` answer, where known. */
  active?: string;
}

/** What the installer needs; defaults are this machine's. */
export interface InstallerDeps {
  os?: typeof Deno.build.os;
  env?: Record<string, string>;
  run?: RunProgram;
  /** The argv that starts the agent; {@linkcode agentCommand} by default. */
  agent?: string[];
}

/** A program the installer ran failed. */
export class InstallError extends Error {
  constructor(program: string, args: string[], result: { code: number; stderr: string }) {
    super(
      `${program} ${args.join(" ")} exited ${result.code}${
        result.stderr.trim() ? `: ${result.stderr.trim()}` : ""
      }`,
    );
    this.name = "InstallError";
  }
}

/** Starting the agent at logon, for this OS. */
export class Installer {
  readonly #os: typeof Deno.build.os;
  readonly #env: Record<string, string>;
  readonly #run: RunProgram;
  readonly #agent: string[];

  constructor(deps: InstallerDeps = {}) {
    this.#os = deps.os ?? Deno.build.os;
    this.#env = deps.env ?? Deno.env.toObject();
    this.#run = deps.run ?? runProgram;
    this.#agent = deps.agent ?? agentCommand();
  }

  /** How it is done here, for messages. */
  get how(): string {
    return this.#os === "windows"
      ? `Task Scheduler task ${TASK_NAME}`
      : `systemd user unit ${UNIT_NAME}`;
  }

  /**
   * Registers `run --at-logon --config <configPath> [--env <envName>]` to start at logon
   * (replacing an earlier one) and starts it now.
   */
  async install(configPath: string, envName?: string): Promise<InstallState> {
    const argv = [
      ...this.#agent,
      "run",
      "--at-logon",
      "--config",
      configPath,
      ...(envName ? ["--env", envName] : []),
    ];
    if (this.#os === "windows") {
      const user = this.#env.USERDOMAIN
        ? `${this.#env.USERDOMAIN}\\${this.#env.USERNAME}`
        : this.#env.USERNAME ?? "";
      if (!user) throw new Error("Cannot install the logon task: USERNAME is not set");
      const dir = await Deno.makeTempDir({ prefix: "scriptmon-task-" });
      const file = join(dir, "task.xml");
      try {
        await Deno.writeFile(
          file,
          utf16le(taskXml({ user, argv, workingDirectory: dirname(configPath) })),
        );
        await this.#must("schtasks", ["/Create", "/TN", TASK_NAME, "/XML", file, "/F"]);
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
      await this.#must("schtasks", ["/Run", "/TN", TASK_NAME]);
    } else {
      const path = this.#unitPath();
      await Deno.mkdir(dirname(path), { recursive: true });
      await writeFileAtomic(path, userUnit({ argv, workingDirectory: dirname(configPath) }));
      await this.#must("systemctl", ["--user", "daemon-reload"]);
      await this.#must("systemctl", ["--user", "enable", "--now", UNIT_NAME]);
    }
    return await this.state();
  }

  /** Stops and removes what `install` registered; false when nothing was installed. */
  async uninstall(): Promise<boolean> {
    if (!(await this.state()).installed) return false;
    if (this.#os === "windows") {
      // Ending the running task ends the agent, whose jobs end its scripts.
      await this.#run("schtasks", ["/End", "/TN", TASK_NAME]);
      await this.#must("schtasks", ["/Delete", "/TN", TASK_NAME, "/F"]);
    } else {
      await this.#must("systemctl", ["--user", "disable", "--now", UNIT_NAME]);
      await Deno.remove(this.#unitPath());
      await this.#must("systemctl", ["--user", "daemon-reload"]);
    }
    return true;
  }

  /** Whether the agent is installed to start at logon, and what it runs. */
  async state(): Promise<InstallState> {
    if (this.#os === "windows") {
      const query = await this.#run("schtasks", ["/Query", "/TN", TASK_NAME, "/XML"]);
      const action = query.code === 0 ? taskAction(query.stdout) : null;
      return {
        installed: query.code === 0,
        how: this.how,
        where: TASK_NAME,
        command: action ? `${action.command} ${action.arguments}`.trim() : undefined,
      };
    }
    const path = this.#unitPath();
    const text = await Deno.readTextFile(path).catch(() => null);
    if (text === null) return { installed: false, how: this.how, where: path };
    const active = await this.#run("systemctl", ["--user", "is-active", UNIT_NAME]);
    return {
      installed: true,
      how: this.how,
      where: path,
      command: /^ExecStart=(.*)$/m.exec(text)?.[1],
      active: active.stdout.trim() || undefined,
    };
  }

  #unitPath(): string {
    return systemdUnitPath(this.#env);
  }

  async #must(program: string, args: string[]): Promise<void> {
    const result = await this.#run(program, args);
    if (result.code !== 0) throw new InstallError(program, args, result);
  }
}

async function runProgram(
  program: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const out = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    return {
      code: out.code,
      stdout: decodeSchtasks(out.stdout),
      stderr: decodeSchtasks(out.stderr),
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { code: 127, stdout: "", stderr: `${program} not found on PATH` };
    }
    throw error;
  }
}
