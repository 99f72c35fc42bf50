/**
 * The permission and runtime flags of `deno task agent` and `deno task
 * collector`, read from deno.json, so the compiled binary, the demo, the
 * benchmarks and the end-to-end tests run both programs exactly as users do.
 */
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname!, "..");

/** The flags between `deno run` and `<entry>` in deno.json's task `task`. */
function taskFlags(task: string, entry: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  const words: string[] = config.tasks[task].split(/\s+/);
  const at = words.indexOf(entry);
  if (words[0] !== "deno" || words[1] !== "run" || at < 0) {
    throw new SyntaxError(`deno.json tasks.${task} must be "deno run <flags> ${entry}"`);
  }
  return words.slice(2, at);
}

/** The flags between `deno run` and `agent/main.ts` in deno.json's `agent` task. */
export function agentFlags(): string[] {
  return taskFlags("agent", "agent/main.ts");
}

/** The flags between `deno run` and `collector/main.ts` in deno.json's `collector` task. */
export function collectorFlags(): string[] {
  return taskFlags("collector", "collector/main.ts");
}

/** The `--unstable-*` flags of deno.json's `unstable` list. */
export function unstableFlags(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  return (config.unstable as string[]).map((u) => `--unstable-${u}`);
}

/**
 * The `deno` arguments that bundle the agent into `output` as the zip ships it: one file,
 * minified, names kept (stack traces and error names read as in the sources). Minified, an agent
 * with 100 scripts holds 8 MB less than from the sources or an unminified bundle
 * (bench/README.md).
 */
export function agentBundleArgs(output: string): string[] {
  return [
    "bundle",
    "--quiet",
    "--platform",
    "deno",
    "--minify",
    "--keep-names",
    "--config",
    join(ROOT, "deno.json"),
    "--output",
    output,
    join(ROOT, "agent", "main.ts"),
  ];
}
