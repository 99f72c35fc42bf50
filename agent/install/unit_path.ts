/**
 * Where the agent's systemd user unit lives:
 * `$XDG_CONFIG_HOME/systemd/user/scriptmon-agent.service`
 * (`~/.config/systemd/user/…` without it).
 *
 * @module
 */
import { join } from "node:path";
import { UNIT_NAME } from "./systemd_unit.ts";

/** The unit file's path for this user's environment. */
export function systemdUnitPath(env: Record<string, string>): string {
  const config = env.XDG_CONFIG_HOME ||
    (env.HOME ? join(env.HOME, ".config") : undefined);
  if (!config) {
    throw new Error("Cannot place the systemd user unit: neither XDG_CONFIG_HOME nor HOME is set");
  }
  return join(config, "systemd", "user", UNIT_NAME);
}
