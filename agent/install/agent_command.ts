/**
 * The command that starts this agent again, for a logon task or a unit
 * file: the compiled binary; the zip's launcher beside its bundle; or, from
 * a checkout, deno with the agent's entry point and its flags.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The flags `deno task agent` runs the agent with (deno.json), for a checkout's entry point. */
const CHECKOUT_FLAGS = ["run", "--allow-all", "--unstable-kv", "--unstable-no-legacy-abort"];

/** The argv that runs `scriptmon-agent` (add the verb and its flags after it). */
export function agentCommand(
  execPath = Deno.execPath(),
  mainModule = Deno.mainModule,
  os: typeof Deno.build.os = Deno.build.os,
): string[] {
  const exe = execPath.split(/[\\/]/).pop() ?? "";
  if (!/^deno(\.exe)?$/i.test(exe)) return [execPath];
  const main = mainModule.startsWith("file:") ? fileURLToPath(mainModule) : mainModule;
  if (/scriptmon-agent\.js$/.test(main)) {
    return [join(dirname(main), os === "windows" ? "scriptmon-agent.cmd" : "scriptmon-agent")];
  }
  return [execPath, ...CHECKOUT_FLAGS, main];
}
