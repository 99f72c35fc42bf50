/**
 * Starting a script's process the way the runner owns it: its folder and
 * command checked first (so a typo fails with a clear reason), then a
 * detached child (its own process group) with a clean environment and both
 * output pipes piped.
 *
 * @module
 */
import type { ResolvedScript } from "../config/types.ts";
import { childEnv } from "../platform/child_env.ts";
import { findExecutable } from "../platform/find_executable.ts";
import type { Platform } from "../platform/types.ts";

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
  const found = await findExecutable(script.command[0], {
    cwd: script.cwd,
    path: script.env.PATH ?? Deno.env.get("PATH"),
    pathExt: Deno.env.get("PATHEXT"),
  });
  if (!found) {
    throw new SpawnError(
      `Cannot start script "${script.name}": command "${script.command[0]}" not found`,
    );
  }
}

/**
 * Spawns the script detached, stdout and stderr piped, with `extraEnv` (such
 * as its ping URL) under its own `env` and `SCRIPTMON_SCRIPT` set.
 */
export function spawnScript(
  script: ResolvedScript,
  platform: Platform,
  extraEnv: Record<string, string> = {},
): Deno.ChildProcess {
  const { command, args } = platform.spawnCommand(script.command);
  return new Deno.Command(command, {
    args,
    cwd: script.cwd,
    clearEnv: true,
    env: childEnv({ ...extraEnv, ...script.env, SCRIPTMON_SCRIPT: script.name }),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
}
