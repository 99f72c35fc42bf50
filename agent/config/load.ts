/**
 * Reads the agent's config file and parses it with the shared pipeline
 * (`shared/agent_config/`): the file's text and the `enc:v1:` key it needs
 * come from this machine, and so do the holiday files its calendars name.
 *
 * @module
 */

import { readConfigFile } from "../../shared/config/config_file.ts";
import {
  parseConfig,
  type ParseConfigOptions,
  type ResolvedAgentConfig,
} from "../../shared/agent_config/mod.ts";

export { ConfigError, type ConfigIssue } from "../../shared/config/config_error.ts";

/** Options of {@linkcode loadConfig}. */
export type LoadConfigOptions = Omit<ParseConfigOptions, "path">;

/**
 * Reads and parses a config file; holiday files are read with `Deno.readTextFileSync` unless
 * `readText` says otherwise.
 *
 * @throws {ConfigError} when the file cannot be read or has problems.
 */
export async function loadConfig(
  path: string,
  options: LoadConfigOptions = {},
): Promise<ResolvedAgentConfig> {
  const { text, secretKey } = await readConfigFile(path, options, Deno);
  return parseConfig(text, { readText: Deno.readTextFileSync, ...options, path, secretKey });
}
