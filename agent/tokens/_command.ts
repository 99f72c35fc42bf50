/**
 * Runs a token command (exec format, exec validation, refresh) to its end
 * within a timeout, in its own process group so a timeout kills what it
 * started too. Output is kept up to a bound, for the caller to log.
 *
 * @module
 */
import { platform } from "../platform/mod.ts";
import { childEnv } from "../platform/child_env.ts";
import { formatDuration } from "../../shared/config/units.ts";

/** How a command ended. */
export interface CommandResult {
  ok: boolean;
  /** `exit code 0`, `exit code 3`, `killed by SIGTERM`, `timed out after 5000 ms`, `command "x" not found`. */
  how: string;
  stdout: string;
  stderr: string;
}

/** Output kept of each stream. */
const OUTPUT_LIMIT = 64 * 1024;

/** Runs `argv` in `cwd` with `env` added; never throws for a failed command. */
export async function runCommand(
  argv: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs: number; signal?: AbortSignal },
): Promise<CommandResult> {
  const [program, ...args] = argv;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args,
      cwd: options.cwd,
      clearEnv: true,
      env: childEnv(options.env),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
  } catch (error) {
    const how = error instanceof Deno.errors.NotFound
      ? `command "${program}" not found (cwd "${options.cwd}")`
      : `cannot start "${program}": ${error instanceof Error ? error.message : error}`;
    return { ok: false, how, stdout: "", stderr: "" };
  }
  let timedOut = false;
  let killed: Promise<void> = Promise.resolve();
  const kill = () => {
    // Until `status` settles the pid is still ours, so this cannot hit another process.
    killed = platform.killTree(child.pid).catch(() => {});
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, options.timeoutMs);
  options.signal?.addEventListener("abort", kill, { once: true });
  const [stdout, stderr, status] = await Promise.all([
    readLimited(child.stdout),
    readLimited(child.stderr),
    child.status,
  ]);
  clearTimeout(timer);
  options.signal?.removeEventListener("abort", kill);
  await killed;
  const how = timedOut
    ? `timed out after ${formatDuration(options.timeoutMs)}`
    : options.signal?.aborted
    ? "aborted"
    : status.signal
    ? `killed by ${status.signal}`
    : `exit code ${status.code}`;
  return { ok: status.success && !timedOut, how, stdout, stderr };
}

async function readLimited(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  try {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      if (text.length < OUTPUT_LIMIT) text += chunk.slice(0, OUTPUT_LIMIT - text.length);
    }
  } catch {
    // Broken pipe: keep what was read.
  }
  return text;
}
