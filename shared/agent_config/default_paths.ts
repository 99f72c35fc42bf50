/**
 * Where the agent keeps its files when nobody says: on Windows under the
 * user's local application data, `%LOCALAPPDATA%\scriptmon` (not roamed,
 * writable without administrator rights, where Windows programs keep such
 * files); elsewhere the config is looked for under `$XDG_DATA_HOME/scriptmon`
 * (`~/.local/share/scriptmon`) and the data dir sits beside the config file.
 * Functions of the OS name (`Deno.build.os`) and the environment only, so
 * both OSes are tested on either.
 *
 * @module
 */

import { posix, win32 } from "node:path";
import { CONFIG_DEFAULTS } from "./schema.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** The folder of the agent's own files: `%LOCALAPPDATA%\scriptmon`, `~/.local/share/scriptmon`. */
export function agentHome(os: string, env: Env): string | undefined {
  if (os === "windows") {
    return present(env.LOCALAPPDATA) ? win32.join(env.LOCALAPPDATA, "scriptmon") : undefined;
  }
  const dataHome = present(env.XDG_DATA_HOME)
    ? env.XDG_DATA_HOME
    : present(env.HOME)
    ? posix.join(env.HOME, ".local", "share")
    : undefined;
  return dataHome === undefined ? undefined : posix.join(dataHome, "scriptmon");
}

/**
 * `agent.data_dir` when the config does not set it, as if written there
 * (relative to the config's folder): `%LOCALAPPDATA%\scriptmon\scriptmon-data`
 * on Windows, `./scriptmon-data` elsewhere or without `LOCALAPPDATA`. The
 * default `log_dir` is `logs` inside it.
 */
export function defaultDataDir(os: string, env: Env): string {
  const home = os === "windows" ? agentHome(os, env) : undefined;
  return home === undefined ? CONFIG_DEFAULTS.agent.data_dir : win32.join(home, "scriptmon-data");
}

function present(value: string | undefined): value is string {
  return value !== undefined && value !== "";
}
