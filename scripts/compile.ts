/**
 * `deno task compile [--target T]`: builds dist/scriptmon-agent-<target>
 * with the same entry point and permission flags as `deno task agent` (read
 * from deno.json, so the two cannot drift apart) and the unstable KV flag.
 *
 * `deno compile` needs Deno's base binary (denort) for the target. It is
 * taken from DENORT_BIN when set; otherwise Deno downloads it, and where the
 * download is impossible this script says what to do instead.
 */
import { Command } from "commander";
import { join, resolve } from "node:path";

/** Targets the agent is built for. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-pc-windows-msvc",
] as const;

const ROOT = resolve(import.meta.dirname!, "..");

/** The `deno compile` argv for one target, from deno.json's `agent` task. */
export async function compileArgs(target: string, output: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const words: string[] = config.tasks.agent.split(/\s+/);
  const entry = words.indexOf("agent/main.ts");
  if (words[0] !== "deno" || words[1] !== "run" || entry < 0) {
    throw new SyntaxError(`deno.json tasks.agent must be "deno run <flags> agent/main.ts"`);
  }
  const flags = words.slice(2, entry);
  const unstable = (config.unstable as string[]).map((u) => `--unstable-${u}`);
  return [
    "compile",
    ...flags,
    ...unstable,
    "--target",
    target,
    "--output",
    output,
    "agent/main.ts",
  ];
}

async function main(): Promise<number> {
  const cli = new Command("compile")
    .option("-t, --target <target>", `one of ${TARGETS.join(", ")}`, Deno.build.target)
    .parse(Deno.args, { from: "user" });
  const { target } = cli.opts<{ target: string }>();
  if (!(TARGETS as readonly string[]).includes(target)) {
    console.error(`compile: unknown target "${target}"; expected one of ${TARGETS.join(", ")}`);
    return 2;
  }
  const suffix = target.includes("windows") ? ".exe" : "";
  const output = join("dist", `scriptmon-agent-${target}${suffix}`);
  const args = await compileArgs(target, output);
  const denort = Deno.env.get("DENORT_BIN");
  console.error(`deno ${args.join(" ")}${denort ? `  (base binary: ${denort})` : ""}`);
  const { code } = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT }).output()
    .then(async (out) => {
      await Deno.stderr.write(out.stderr);
      return out;
    });
  if (code === 0) {
    console.log(output);
    return 0;
  }
  if (!denort) {
    console.error(
      `\ncompile: deno compile failed. It needs Deno's base binary (denort ${Deno.version.deno}` +
        ` for ${target}), which it downloads from Deno's release server. If this machine cannot` +
        ` reach it, download denort-${target}.zip for that version on one that can, unzip it,` +
        ` and run again with DENORT_BIN=/path/to/denort.`,
    );
  }
  return code;
}

if (import.meta.main) Deno.exit(await main());
