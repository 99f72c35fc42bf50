/**
 * `deno task bench`: what supervising costs.
 *
 * 1. Restart latency: a script that exits at once, restarted with
 *    min_delay = 0, from the agent noticing the exit to the replacement
 *    running, over N crashes; next to the bare cost of spawning the same
 *    program from Deno.
 * 2. Idle cost: the real agent (`agent/main.ts run`) supervising 10 and 100
 *    sleeping scripts: its CPU % of one core and RSS, measured from /proc.
 *
 * Prints a Markdown table; bench/README.md records the results.
 */
import { join, resolve } from "node:path";
import { openKv, STORE_FILE, systemClock } from "../agent/mod.ts";
import { EventLog } from "../agent/supervise/mod.ts";
import { platform } from "../agent/platform/mod.ts";
import { ScriptRunner } from "../agent/supervise/mod.ts";
import { agentFlags } from "../scripts/agent_flags.ts";
import { startAgent } from "../agent/mod.ts";
import { loadConfig } from "../agent/config/mod.ts";

const CRASHES = Number(Deno.env.get("BENCH_CRASHES") ?? 300);
const IDLE_SECONDS = Number(Deno.env.get("BENCH_IDLE_SECONDS") ?? 60);
const PROGRAM = ["/bin/false"];
const MAIN = resolve(import.meta.dirname!, "..", "agent", "main.ts");
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p95: percentile(s, 95), max: s[s.length - 1] };
}

async function bareSpawn(n: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const child = new Deno.Command(PROGRAM[0], {
      args: PROGRAM.slice(1),
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
    samples.push(performance.now() - t0);
    await child.status;
    await child.stdout.cancel();
    await child.stderr.cancel();
  }
  return samples;
}

async function restartLatency(n: number): Promise<number[]> {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-bench-" });
  const kv = await openKv(join(dir, STORE_FILE));
  const events = await EventLog.open(kv);
  await Deno.mkdir(join(dir, "pids"));
  const runner = new ScriptRunner({
    name: "crasher",
    command: PROGRAM,
    cwd: dir,
    env: {},
    enabled: true,
    stopSignal: "SIGTERM",
    stopTimeoutMs: 1000,
    log: { maxSizeBytes: 10_000_000, maxAgeMs: 86_400_000, keep: 1 },
    health: { probes: [] },
    restart: {
      policy: "always",
      minDelayMs: 0,
      maxDelayMs: 0,
      multiplier: 1,
      jitter: 0,
      resetAfterMs: 60_000,
      maxRestarts: 1e9,
      windowMs: 1,
    },
  }, {
    platform,
    events,
    clock: systemClock,
    pidDir: join(dir, "pids"),
    logDir: join(dir, "logs"),
  });
  const samples: number[] = [];
  let exitAt: number | null = null;
  const done = Promise.withResolvers<void>();
  events.subscribe((e) => {
    if (e.kind === "exit") exitAt = performance.now();
    if (e.kind === "state" && e.state === "running" && exitAt !== null) {
      samples.push(performance.now() - exitAt);
      exitAt = null;
      if (samples.length >= n) done.resolve();
    }
  });
  await runner.start();
  await done.promise;
  await runner.dispose();
  await events.flush();
  kv.close();
  await Deno.remove(dir, { recursive: true });
  return samples;
}

async function cpuTicks(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]); // utime + stime
}

async function rssBytes(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** The agent's idle CPU and RSS with `scripts` sleepers, each with `checks` TOML added. */
async function idleCost(scripts: number, seconds: number, checks = "") {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-bench-" });
  const tables = Array.from(
    { length: scripts },
    (_, i) =>
      `[scripts.sleeper${i}]\ncommand = ["sleep", "3600"]\n${checks.replaceAll("{i}", `${i}`)}`,
  );
  const config = join(dir, "scriptmon.toml");
  await Deno.writeTextFile(
    config,
    `[agent]\ndata_dir = "data"\napi_port = 0\nlog_level = "warning"\n\n${tables.join("\n")}`,
  );
  const agent = new Deno.Command(Deno.execPath(), {
    args: ["run", ...agentFlags(), MAIN, "run", "--config", config],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      let records = 0;
      try {
        for await (const e of Deno.readDir(join(dir, "data", "pids"))) {
          if (e.name.endsWith(".pid.json")) records++;
        }
      } catch {
        // not created yet
      }
      if (records === scripts) break;
      if (Date.now() > deadline) throw new Error(`${scripts} scripts did not start within 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 2000)); // let start-up work settle
    const t0 = await cpuTicks(agent.pid);
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const cpu = (await cpuTicks(agent.pid)) - t0;
    const wall = (performance.now() - w0) / 1000;
    return { cpuPercent: (100 * cpu / TICKS_PER_SECOND) / wall, rss: await rssBytes(agent.pid) };
  } finally {
    agent.kill("SIGTERM");
    await agent.status;
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * From a missed heartbeat deadline to the `failing` event, in-process: the
 * script pings, stops, and the deadline (last ping + timeout) passes.
 */
async function heartbeatLatency(n: number): Promise<number[]> {
  const dir = await Deno.makeTempDir({ prefix: "scriptmon-bench-" });
  const path = join(dir, "scriptmon.toml");
  const timeoutMs = 300;
  await Deno.writeTextFile(
    path,
    `[agent]\ndata_dir = "data"\napi_port = 0\nlog_level = "warning"\n\n` +
      `[scripts.hb]\ncommand = ["sleep", "3600"]\nheartbeat_timeout = "${timeoutMs}ms"\n`,
  );
  const agent = await startAgent({ config: await loadConfig(path), watch: false });
  const samples: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const failing = Promise.withResolvers<number>();
      const off = agent.events.subscribe((e) => {
        if (e.kind === "check" && e.check === "heartbeat" && e.status === "failing") {
          failing.resolve(performance.now());
        }
      });
      agent.supervisor.ping("hb", "success", null);
      const deadline = performance.now() + timeoutMs;
      samples.push((await failing.promise) - deadline);
      off();
    }
  } finally {
    await agent.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
  return samples;
}

/** A local HTTP server for the probes of the idle benchmark. */
function probeTarget() {
  const abort = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: abort.signal, onListen() {} },
    () => new Response("ok"),
  );
  return { port: server.addr.port, close: () => (abort.abort(), server.finished) };
}

const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
console.error(`bare spawn x${CRASHES} ...`);
const bare = summary(await bareSpawn(CRASHES));
console.error(`restart latency x${CRASHES} ...`);
const restart = summary(await restartLatency(CRASHES));
console.error(`idle, 10 scripts, ${IDLE_SECONDS} s ...`);
const idle10 = await idleCost(10, IDLE_SECONDS);
console.error(`idle, 100 scripts, ${IDLE_SECONDS} s ...`);
const idle100 = await idleCost(100, IDLE_SECONDS);
console.error(`idle, 100 scripts with heartbeat and 10 s HTTP probe, ${IDLE_SECONDS} s ...`);
const target = probeTarget();
const idleChecked = await idleCost(
  100,
  IDLE_SECONDS,
  `heartbeat_timeout = "1h"\n[[scripts.sleeper{i}.probes]]\nkind = "http"\n` +
    `url = "http://127.0.0.1:${target.port}/"\ninterval = "10s"\n`,
);
await target.close();
const HEARTBEATS = 30;
console.error(`missed heartbeat deadline → failing event x${HEARTBEATS} ...`);
const missed = summary(await heartbeatLatency(HEARTBEATS));

console.log(`| measure | p50 | p95 | max |
|---|---|---|---|
| bare spawn of \`${PROGRAM.join(" ")}\` from Deno | ${fmt(bare.p50)} | ${fmt(bare.p95)} | ${
  fmt(bare.max)
} |
| restart latency, exit → replacement running (${CRASHES} crashes) | ${fmt(restart.p50)} | ${
  fmt(restart.p95)
} | ${fmt(restart.max)} |

| idle agent | CPU of one core | RSS |
|---|---|---|
| 10 sleeping scripts (${IDLE_SECONDS} s) | ${idle10.cpuPercent.toFixed(3)} % | ${
  (idle10.rss / 1e6).toFixed(1)
} MB |
| 100 sleeping scripts (${IDLE_SECONDS} s) | ${idle100.cpuPercent.toFixed(3)} % | ${
  (idle100.rss / 1e6).toFixed(1)
} MB |
| 100 scripts, each with a heartbeat and a 10 s HTTP probe (${IDLE_SECONDS} s) | ${
  idleChecked.cpuPercent.toFixed(3)
} % | ${(idleChecked.rss / 1e6).toFixed(1)} MB |

| measure | p50 | p95 | max |
|---|---|---|---|
| missed heartbeat deadline → failing event (${HEARTBEATS} misses) | ${fmt(missed.p50)} | ${
  fmt(missed.p95)
} | ${fmt(missed.max)} |`);
