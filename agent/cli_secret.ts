/**
 * `scriptmon-agent secret keygen|encrypt` (shared/config/secret_commands.ts)
 * with the agent's I/O.
 *
 * @module
 */
import type { Command } from "commander";
import { readLine } from "../shared/read_line.ts";
import { secretCommands as addSecretCommands } from "../shared/config/secret_commands.ts";
import { loadSecretKey } from "./config/secret_key.ts";

/** Adds `secret keygen` and `secret encrypt` to `cli`. */
export function secretCommands(cli: Command): void {
  addSecretCommands(cli, {
    loadKey: () => loadSecretKey(),
    readLine: () => readLine(Deno.stdin.readable),
    isTerminal: () => Deno.stdin.isTerminal(),
    writeKeyFile: (path, text) => Deno.writeTextFile(path, text, { mode: 0o600, createNew: true }),
  });
}
