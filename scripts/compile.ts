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
import { agentFlags, unstableFlags } from "./agent_flags.ts";

/** Targets the agent is built for. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-pc-windows-msvc",
] as const;

const ROOT = resolve(import.meta.dirname!, "..");

/** The `deno compile` argv for one target, with the agent task's flags. */
export function compileArgs(target: string, output: string): string[] {
  return [
    "compile",
    ...agentFlags(),
    ...unstableFlags(),
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
  const args = compileArgs(target, output);
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
