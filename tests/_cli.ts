/** Running a program's CLI in the tests, as a person would: the collector's, to completion. */

const COLLECTOR_MAIN = new URL("../collector/main.ts", import.meta.url).pathname;

/** What a finished CLI run printed. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `argv` with `options.stdin` written to it (or none) and `options.env` added. */
export async function runCli(
  argv: string[],
  options: { stdin?: string; env?: Record<string, string>; trim?: boolean } = {},
): Promise<CliResult> {
  const [cmd, ...args] = argv;
  const child = new Deno.Command(cmd, {
    args,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const text = (b: Uint8Array) => {
    const decoded = new TextDecoder().decode(b);
    return options.trim === false ? decoded : decoded.trim();
  };
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** Runs `scriptmon-collector --config <config> ...args`. */
export function collectorCli(
  config: string,
  args: string[],
  options: { stdin?: string; env?: Record<string, string>; trim?: boolean } = {},
): Promise<CliResult> {
  return runCli(
    [Deno.execPath(), "run", "--allow-all", COLLECTOR_MAIN, "--config", config, ...args],
    options,
  );
}
