/**
 * The permission and runtime flags of `deno task agent`, read from deno.json,
 * so the compiled binary, the benchmarks and the end-to-end tests run the
 * agent exactly as users do.
 */
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname!, "..");

/** The flags between `deno run` and `agent/main.ts` in deno.json's `agent` task. */
export function agentFlags(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  const words: string[] = config.tasks.agent.split(/\s+/);
  const entry = words.indexOf("agent/main.ts");
  if (words[0] !== "deno" || words[1] !== "run" || entry < 0) {
    throw new SyntaxError(`deno.json tasks.agent must be "deno run <flags> agent/main.ts"`);
  }
  return words.slice(2, entry);
}

/** The `--unstable-*` flags of deno.json's `unstable` list. */
export function unstableFlags(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  return (config.unstable as string[]).map((u) => `--unstable-${u}`);
}
