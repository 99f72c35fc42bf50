/**
 * The agent's OS layer: the one `Platform` for this machine, picked once.
 * Nothing is spawned or read on import; setpriv is looked for on first use.
 */

import { LinuxPlatform, PosixPlatform } from "./posix.ts";
import type { Platform } from "./types.ts";
import { WindowsPlatform } from "./windows.ts";

export type { Platform, ProcessInfo, SpawnDetachedOptions } from "./types.ts";

/** The platform of the running OS. */
export const platform: Platform = Deno.build.os === "windows"
  ? new WindowsPlatform()
  : Deno.build.os === "linux"
  ? new LinuxPlatform()
  : new PosixPlatform();

export type { ProcessSample } from "./types.ts";
export { childEnv } from "./child_env.ts";
export { findExecutable } from "./find_executable.ts";
export { splitWords } from "../../shared/agent_config/words.ts";
export { watchFile } from "./watch_file.ts";
export { sendCtrlEvent } from "./_win_console.ts";
export type { SpawnedChild, SpawnOptions } from "./types.ts";
