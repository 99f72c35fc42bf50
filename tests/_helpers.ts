/** Shared pieces of the agent tests: temp dirs, script configs, awaiting events. */
import { join, resolve } from "node:path";
import type { ResolvedScript } from "../agent/config/mod.ts";
import type { AgentEvent, EventLog } from "../agent/supervise/mod.ts";
import { platform } from "../agent/platform/mod.ts";

/** Absolute path of a fixture program. */
export function fixture(name: string): string {
  return resolve(import.meta.dirname!, "fixtures", name);
}

/** argv running a fixture with this Deno. */
export function denoFixture(name: string, ...args: string[]): string[] {
  return [Deno.execPath(), "run", "--allow-all", "--no-prompt", fixture(name), ...args];
}

/** A script config with quick test defaults. */
export function testScript(
  name: string,
  command: string[],
  overrides: Partial<Omit<ResolvedScript, "restart">> & {
    restart?: Partial<ResolvedScript["restart"]>;
  } = {},
): ResolvedScript {
  const { restart, ...rest } = overrides;
  return {
    name,
    command,
    cwd: Deno.cwd(),
    env: {},
    enabled: true,
    stopSignal: "SIGTERM",
    stopTimeoutMs: 2000,
    log: { maxSizeBytes: 10_000_000, maxAgeMs: 86_400_000, keep: 3 },
    health: { probes: [] },
    ...rest,
    restart: {
      policy: "always",
      minDelayMs: 10,
      maxDelayMs: 200,
      multiplier: 2,
      jitter: 0,
      resetAfterMs: 60_000,
      maxRestarts: 100,
      windowMs: 60_000,
      ...restart,
    },
  };
}

/** Resolves with the first event (from now on) matching `match`; rejects after `timeoutMs`. */
export function nextEvent(
  events: EventLog,
  match: (e: AgentEvent) => boolean,
  timeoutMs = 15_000,
): Promise<AgentEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = events.subscribe((e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

/** Polls `check` every 25 ms until it returns a value other than undefined/false, at most `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** True while a process with this pid exists (and is not a zombie). */
export async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** A fresh temp folder, removed by the returned disposer. */
export async function tempDir(
  prefix = "scriptmon-test-",
): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

/** Path inside a temp dir. */
export function inDir(dir: { path: string }, ...parts: string[]): string {
  return join(dir.path, ...parts);
}

/** The first line a child prints on stdout; the stream is released afterwards. */
export async function firstLine(child: Deno.ChildProcess): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  await reader.cancel();
  return text.split("\n")[0];
}

/** Pids of live (not zombie) processes whose command line contains `marker` (Linux: /proc). */
export async function processesWith(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    const info = await platform.inspect(pid).catch(() => null);
    if (info?.commandLine.includes(marker) && await alive(pid)) pids.push(pid);
  }
  return pids;
}
