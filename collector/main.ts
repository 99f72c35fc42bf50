/**
 * scriptmon-collector: the fleet server. Its verbs (serve, agent-token,
 * api-token, user, backup, restore, audit, secret) arrive with the collector
 * issue; until then this entry only says so.
 */
import { VERSION } from "./version.ts";

/** Runs the CLI with `args`; returns the exit code. */
export function main(args: string[]): number {
  if (args[0] === "version" || args[0] === "--version") {
    console.log(`scriptmon-collector ${VERSION}`);
    return 0;
  }
  console.error("scriptmon-collector: not built yet; only `version` is available");
  return 1;
}

if (import.meta.main) Deno.exit(main(Deno.args));
