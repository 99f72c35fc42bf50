/**
 * Starting a script's process the way the runner owns it: its folder and
 * command checked first (so a typo fails with a clear reason), then the
 * platform's owned child (a process group, a Job Object) with a clean
 * environment and both output pipes piped.
 *
 * @module
 */
import type { ResolvedScript } from "../../shared/agent_config/types.ts";
import { childEnv } from "../platform/child_env.ts";
import { findExecutable } from "../platform/find_executable.ts";
import type { Platform, SpawnedChild } from "../platform/types.ts";

/** A script could not be started: the command or its folder is missing. */
export class SpawnError extends Error {
  override name = "SpawnError";
}

/**
 * Checks that the script's folder exists and its command can be found.
 *
 * @throws {SpawnError} naming the script and the missing folder or command.
 */
export async function checkRunnable(script: ResolvedScript): Promise<void> {
  try {
    if (!(await Deno.stat(script.cwd)).isDirectory) throw new Error("not a folder");
  } catch {
    throw new SpawnError(
      `Cannot start script "${script.name}": cwd "${script.cwd}" is not a folder`,
    );
  }
  const found = await findExecutable(script.command[0], findOptions(script));
  if (!found) {
    throw new SpawnError(
      `Cannot start script "${script.name}": command "${script.command[0]}" not found`,
    );
  }
}

/**
 * Starts the script the platform's way (its own process group or Job Object),
 * with `extraEnv` (such as its ping URL) under its own `env` and
 * `SCRIPTMON_SCRIPT` set. On Windows the command is the file found by
 * PATHEXT (`python` may be `python.cmd`), which Windows itself would not look for.
 */
export async function spawnScript(
  script: ResolvedScript,
  platform: Platform,
  extraEnv: Record<string, string> = {},
): Promise<SpawnedChild> {
  const argv = [...script.command];
  if (platform.name === "windows") {
    argv[0] = await findExecutable(argv[0], findOptions(script)) ?? argv[0];
  }
  return platform.spawn(argv, {
    cwd: script.cwd,
    env: childEnv({ ...extraEnv, ...script.env, SCRIPTMON_SCRIPT: script.name }),
  });
}

function findOptions(script: ResolvedScript): { cwd: string; path?: string; pathExt?: string } {
  return {
    cwd: script.cwd,
    path: script.env.PATH ?? Deno.env.get("PATH"),
    pathExt: Deno.env.get("PATHEXT"),
  };
}
