/**
 * `deno task dist [--os windows|linux]...`: the folder a person drops on a
 * workstation, zipped, built without Deno's release server (which `deno
 * compile` needs): `dist/scriptmon-agent-<os>-x64.zip` holds
 *
 * - the pinned Deno runtime for that OS, from the npm registry
 *   (`@deno/win32-x64`, `@deno/linux-x64-glibc`), at the version running this;
 * - `scriptmon-agent.js`, the agent and every dependency in one minified file
 *   (`deno bundle`), so nothing is fetched on the workstation;
 * - a launcher, `scriptmon-agent.cmd` or `scriptmon-agent`, that runs it with
 *   the same flags as `deno task agent` and the compiled binary;
 * - `README.txt`, the few lines a person needs.
 *
 * @module
 */
import { Command } from "commander";
import { strToU8, type Zippable, zipSync } from "fflate";
import { join, resolve } from "node:path";
import { agentBundleArgs, agentFlags, unstableFlags } from "./agent_flags.ts";

const ROOT = resolve(import.meta.dirname!, "..");

/** The operating systems a zip is made for, and their runtime's npm package and file. */
export const DIST_TARGETS = {
  windows: { npm: "@deno/win32-x64", runtime: "deno.exe", launcher: "scriptmon-agent.cmd" },
  linux: { npm: "@deno/linux-x64-glibc", runtime: "deno", launcher: "scriptmon-agent" },
} as const;

/** One of {@linkcode DIST_TARGETS}. */
export type DistOs = keyof typeof DIST_TARGETS;

/** The launcher's text: the runtime beside it runs the bundle beside it with the agent's flags. */
export function launcherText(os: DistOs, flags: string[]): string {
  if (os === "windows") {
    // %~dp0 is the launcher's own folder, ending in a backslash; %* passes every argument on.
    return [
      "@echo off",
      `"%~dp0deno.exe" run --no-config ${flags.join(" ")} "%~dp0scriptmon-agent.js" %*`,
      "",
    ].join("\r\n");
  }
  return [
    "#!/bin/sh",
    'here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)',
    `exec "$here/deno" run --no-config ${flags.join(" ")} "$here/scriptmon-agent.js" "$@"`,
    "",
  ].join("\n");
}

/** The README.txt of the zip. */
export function readmeText(os: DistOs): string {
  const agent = os === "windows" ? "scriptmon-agent.cmd" : "./scriptmon-agent";
  const lines = [
    "scriptmon agent",
    "",
    "Put scriptmon.toml beside this file (or pass --config FILE), then:",
    `  ${agent} validate        check the config`,
    `  ${agent} run             supervise the scripts (the daemon)`,
    `  ${agent} install         start it at logon (${
      os === "windows" ? "Task Scheduler" : "a systemd user unit"
    })`,
    `  ${agent} status          what runs, and whether it starts at logon`,
    "",
    "Everything is in this folder: the Deno runtime, the agent (scriptmon-agent.js) and the",
    "launcher. Nothing is downloaded when it runs.",
    "",
  ];
  return lines.join(os === "windows" ? "\r\n" : "\n");
}

/** The runtime binary of `os` at this Deno's version, from the npm registry, cached under `cache`. */
async function runtime(os: DistOs, cache: string): Promise<Uint8Array> {
  const { npm, runtime } = DIST_TARGETS[os];
  const version = Deno.version.deno;
  const dir = join(cache, `${npm.replace("/", "+")}-${version}`);
  const file = join(dir, "package", runtime);
  try {
    return await Deno.readFile(file);
  } catch {
    // not cached yet
  }
  await Deno.mkdir(dir, { recursive: true });
  console.error(`dist: fetching ${npm}@${version} from the npm registry`);
  await run("npm", ["pack", "--silent", `${npm}@${version}`], dir);
  const tgz = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".tgz"));
  if (!tgz) throw new Error(`dist: npm pack ${npm}@${version} left no .tgz in ${dir}`);
  await run("tar", ["xzf", tgz.name], dir);
  return await Deno.readFile(file);
}

/** The agent and its dependencies in one file. */
async function bundle(out: string): Promise<Uint8Array> {
  await run(Deno.execPath(), agentBundleArgs(out), ROOT);
  return await Deno.readFile(out);
}

async function run(program: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(program, { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(
      `dist: ${program} ${args.join(" ")} failed (exit ${out.code}): ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
}

/** Builds the zip of `os` into `outDir`; returns its path. */
export async function buildDist(
  os: DistOs,
  options: { outDir: string; cache: string; bundled: Uint8Array },
): Promise<string> {
  const target = DIST_TARGETS[os];
  const flags = [...agentFlags(), ...unstableFlags()];
  const executable = { os: 3, attrs: 0o100755 << 16 } as const;
  const files: Zippable = {
    [target.runtime]: [await runtime(os, options.cache), { level: 6, ...executable }],
    "scriptmon-agent.js": [options.bundled, { level: 9 }],
    [target.launcher]: [strToU8(launcherText(os, flags)), executable],
    "README.txt": strToU8(readmeText(os)),
  };
  const path = join(options.outDir, `scriptmon-agent-${os}-x64.zip`);
  await Deno.mkdir(options.outDir, { recursive: true });
  await Deno.writeFile(path, zipSync({ "scriptmon-agent": files }));
  return path;
}

async function main(): Promise<number> {
  const cli = new Command("dist")
    .option("--os <os...>", "windows, linux (both by default)", Object.keys(DIST_TARGETS))
    .option("--out <dir>", "where the zips go", join(ROOT, "dist"))
    .parse(Deno.args, { from: "user" });
  const { os, out } = cli.opts<{ os: string[]; out: string }>();
  for (const name of os) {
    if (!(name in DIST_TARGETS)) {
      console.error(
        `dist: unknown --os "${name}"; expected ${Object.keys(DIST_TARGETS).join(", ")}`,
      );
      return 2;
    }
  }
  const cache = join(Deno.env.get("HOME") ?? ROOT, ".cache", "scriptmon", "dist");
  await Deno.mkdir(out, { recursive: true });
  console.error("dist: bundling agent/main.ts");
  const bundled = await bundle(join(out, "scriptmon-agent.js"));
  for (const name of os as DistOs[]) {
    const path = await buildDist(name, { outDir: out, cache, bundled });
    const size = (await Deno.stat(path)).size;
    console.log(`${path} (${(size / 1e6).toFixed(1)} MB)`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
