/**
 * `scriptmon-agent secret keygen|encrypt` (shared/config/secret_commands.ts)
 * with the agent's OS (`Deno`).
 *
 * @module
 */
import type { Command } from "commander";
import { secretCommands as addSecretCommands } from "../shared/config/secret_commands.ts";

/** Adds `secret keygen` and `secret encrypt` to `cli`. */
export function secretCommands(cli: Command): void {
  addSecretCommands(cli, Deno);
}
