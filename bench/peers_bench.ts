/**
 * `deno task bench:peers`: the agent beside PM2 (and supervisord where it is
 * installed) on identical generated children, one table with the ratios.
 *
 * - idle: N `sleep 3600` children (10 and 100): the supervisor's own CPU
 *   (utime + stime from /proc) over two windows in a row, the first 5 s
 *   after the children are up (start-up still settling: the runtime's
 *   compiler and garbage collector finishing start-up's work) and one that
 *   starts at least 75 s after the supervisor (steady idle, what a workstation
 *   pays all day, after start-up's deferred work); its context switches
 *   per second (voluntary + involuntary, every thread) and RSS at the end of
 *   the steady window;
 * - restarts: 10 children that each exit 2 s after starting: the
 *   supervisor's CPU divided by the restarts in the window (each child
 *   appends a line to a file when it starts, so every side is counted alike);
 * - crash loop (the agent only: PM2 and supervisord stop restarting): 10
 *   children that die 0.3 s after starting, `min_delay = "0s"`, as % of a core.
 *
 * PM2 is installed by the bench from npm into a temporary folder, with its
 * home there too, and removed at the end. Each side runs `BENCH_PEER_REPEATS`
 * times (2), alternating; the table quotes medians. `BENCH_PEER_ROWS` runs some of the rows only
 * (`checks` alone takes 8 minutes). bench/README.md records the results.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { agentBundleArgs, agentFlags, unstableFlags } from "../scripts/agent_flags.ts";

const WINDOW_SECONDS = Number(Deno.env.get("BENCH_PEER_SECONDS") ?? 30);
const REPEATS = Number(Deno.env.get("BENCH_PEER_REPEATS") ?? 2);
/** `BENCH_PEER_ROWS`: which groups of rows run, of `idle,checks,restarts,crash` (default all). */
const GROUPS = ["idle", "checks", "restarts", "crash"] as const;
const ROWS = new Set(
  (Deno.env.get("BENCH_PEER_ROWS") ?? GROUPS.join(",")).split(",").map((g) => {
    const group = g.trim() as typeof GROUPS[number];
    if (!GROUPS.includes(group)) {
      throw new TypeError(`BENCH_PEER_ROWS: expected some of ${GROUPS.join(",")}, got "${g}"`);
    }
    return group;
  }),
);
const PM2_VERSION = "7.0.4";
const MAIN = resolve(import.meta.dirname!, "..", "agent", "main.ts");
const TICKS_PER_SECOND = 100; // USER_HZ on Linux
const SETTLE_MS = 5000;
/** The steady window starts at least this long after the supervisor was started. */
const STEADY_AFTER_MS = 75_000;

/** One generated child: a program and its arguments. */
type Child = string[];

/** A supervisor under test: starts children, tells its own pid, stops everything. */
interface Side {
  name: string;
  start(dir: string, children: Child[], options: StartOptions): Promise<number>;
  stop(): Promise<void>;
}

/** How a side starts its children. */
interface StartOptions {
  minDelayZero?: boolean;
  /** Each child gets a heartbeat file check and an HTTP probe of this URL every 10 s (the agent only). */
  probeUrl?: string;
}

/** What one window measured. */
interface Sample {
  cpuMs: number;
  switchesPerSecond: number;
  rssMb: number;
  starts: number;
  seconds: number;
}

/** CPU ticks, RSS, and the context switches of each thread (by tid) of `pid`. */
async function procStat(
  pid: number,
): Promise<{ ticks: number; switches: Map<string, number>; rss: number }> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const switches = new Map<string, number>();
  for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
    const text = await Deno.readTextFile(`/proc/${pid}/task/${task.name}/status`).catch(() => "");
    let n = 0;
    for (const m of text.matchAll(/(?:non)?voluntary_ctxt_switches:\s+(\d+)/g)) n += +m[1];
    switches.set(task.name, n);
  }
  return {
    ticks: Number(f[11]) + Number(f[12]),
    switches,
    rss: Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024,
  };
}

/** Context switches between two samples: each thread's growth (a new thread counts whole). */
function switchesBetween(a: Map<string, number>, b: Map<string, number>): number {
  let n = 0;
  for (const [tid, count] of b) n += count - (a.get(tid) ?? 0);
  return n;
}

/** The pids whose parent is `pid`. */
async function childrenOf(pid: number): Promise<number> {
  let n = 0;
  for await (const entry of Deno.readDir(`/proc/${pid}/task`)) {
    const text = await Deno.readTextFile(`/proc/${pid}/task/${entry.name}/children`).catch(() =>
      ""
    );
    n += text.trim() === "" ? 0 : text.trim().split(/\s+/).length;
  }
  return n;
}

async function lines(file: string): Promise<number> {
  return (await Deno.readTextFile(file).catch(() => "")).split("\n").length - 1;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Starts `side` with `children`, waits until it runs them, measures a window, stops it. */
async function measure(
  side: Side,
  children: (startsFile: string) => Child[],
  options: StartOptions & { waitFor?: number; steady?: boolean } = {},
): Promise<Sample & { steady?: Sample }> {
  const dir = await Deno.makeTempDir({ prefix: `bench-${side.name}-` });
  await Deno.mkdir(childrenDir(dir));
  const starts = join(childrenDir(dir), "starts");
  try {
    const list = children(starts);
    const startedAt = performance.now();
    const pid = await side.start(dir, list, options);
    const want = options.waitFor ?? list.length;
    const deadline = Date.now() + 120_000;
    for (let i = 0; i < 1200 && (await childrenOf(pid)) < want; i++) {
      if (Date.now() > deadline) throw new Error(`${side.name}: ${want} children not up in 120 s`);
      await sleep(100);
    }
    await sleep(SETTLE_MS);
    const window = async (): Promise<Sample> => {
      const a = await procStat(pid);
      const s0 = await lines(starts);
      const t0 = performance.now();
      await sleep(WINDOW_SECONDS * 1000);
      const b = await procStat(pid);
      const seconds = (performance.now() - t0) / 1000;
      return {
        cpuMs: (b.ticks - a.ticks) * 1000 / TICKS_PER_SECOND,
        switchesPerSecond: switchesBetween(a.switches, b.switches) / seconds,
        rssMb: b.rss / 1e6,
        starts: (await lines(starts)) - s0,
        seconds,
      };
    };
    const first = await window();
    if (!options.steady) return first;
    // Start-up's deferred work (the agent gives freed memory back 30 s after start, and V8
    // collects once after that) belongs to start-up, not to the day-long idle.
    await sleep(Math.max(0, startedAt + STEADY_AFTER_MS - performance.now()));
    return { ...first, steady: await window() };
  } finally {
    await side.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * The children's own files (the starts file, heartbeat files) live in a folder of their own, as
 * a workstation's scripts keep theirs away from the agent's config: the agent watches its
 * config's folder for edits, and a file beside the config written 30 times a second (the crash
 * loop's starts file) woke that watch every time (1.2 points of the crash loop's 10 %).
 */
function childrenDir(dir: string): string {
  return join(dir, "children");
}

const sleepers = (n: number) => (): Child[] =>
  Array.from({ length: n }, () => ["/bin/sleep", "3600"]);
/** Children that touch their heartbeat file (`hb<i>` beside the starts file) every 10 s. */
const beaters = (n: number) => (starts: string): Child[] =>
  Array.from(
    { length: n },
    (
      _,
      i,
    ) => ["/bin/sh", "-c", `while :; do touch '${join(starts, "..", `hb${i}`)}'; sleep 10; done`],
  );
const crashers = (after: string) => (starts: string): Child[] =>
  Array.from(
    { length: 10 },
    () => ["/bin/sh", "-c", `echo >> '${starts}'; sleep ${after}; exit 1`],
  );

/**
 * The agent, run as `deno task agent` runs it, or (`zip`) as the workstation's zip runs it: the
 * agent bundled and minified into one file (`agentBundleArgs`, as `deno task dist`), run with the
 * launcher's flags.
 */
function scriptmonSide(form: "task" | "zip" = "task"): Side {
  let child: Deno.ChildProcess | null = null;
  return {
    name: form === "task" ? "scriptmon" : "scriptmon (zip)",
    async start(dir, children, options) {
      const health = (i: number) =>
        options.probeUrl === undefined ? "" : `heartbeat_timeout = "30s"\n` +
          `heartbeat_file = ${JSON.stringify(join(childrenDir(dir), `hb${i}`))}\n` +
          `[[scripts.c${i}.probes]]\nkind = "http"\nurl = "${options.probeUrl}"\ninterval = "10s"\n`;
      const tables = children.map((argv, i) =>
        `[scripts.c${i}]\ncommand = ${JSON.stringify(argv)}\n${health(i)}` +
        `[scripts.c${i}.restart]\nmin_delay = "0s"\njitter = 0.0\nmax_restarts = 1000000\n`
      );
      const config = join(dir, "scriptmon.toml");
      await Deno.writeTextFile(
        config,
        `[agent]\ndata_dir = "data"\napi_port = 0\nlog_level = "warning"\n\n${tables.join("\n")}`,
      );
      let entry = [...agentFlags(), MAIN];
      if (form === "zip") {
        const bundled = join(dir, "scriptmon-agent.js");
        const out = await new Deno.Command(Deno.execPath(), {
          args: agentBundleArgs(bundled),
          stdout: "null",
          stderr: "piped",
        }).output();
        if (!out.success) throw new Error(`deno bundle: ${new TextDecoder().decode(out.stderr)}`);
        entry = ["--no-config", ...agentFlags(), ...unstableFlags(), bundled];
      }
      child = new Deno.Command(Deno.execPath(), {
        args: ["run", ...entry, "run", "--config", config],
        stdout: "null",
        stderr: "null",
      }).spawn();
      return child.pid;
    },
    async stop() {
      if (child === null) return;
      child.kill("SIGTERM");
      await child.status;
      child = null;
    },
  };
}

/** PM2 from npm in `home`, its daemon (God) measured. */
function pm2Side(home: string): Side {
  const bin = join(home, "node_modules", "pm2", "bin", "pm2");
  const env = { PM2_HOME: join(home, ".pm2"), HOME: home };
  const pm2 = async (...args: string[]) => {
    const out = await new Deno.Command("node", {
      args: [bin, ...args],
      env,
      stdout: "null",
      stderr: "piped",
    })
      .output();
    if (out.code !== 0) {
      throw new Error(`pm2 ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  return {
    name: "PM2",
    async start(dir, children, options) {
      const apps = children.map(([script, ...args], i) => ({
        name: `c${i}`,
        script,
        args,
        interpreter: "none",
        autorestart: true,
        restart_delay: 0,
        min_uptime: options.minDelayZero ? 0 : 1000,
        max_restarts: 1_000_000,
      }));
      const file = join(dir, "ecosystem.config.js");
      await Deno.writeTextFile(file, `module.exports = ${JSON.stringify({ apps })};\n`);
      await pm2("start", file);
      return Number((await Deno.readTextFile(join(env.PM2_HOME, "pm2.pid"))).trim());
    },
    async stop() {
      await pm2("kill").catch(() => {});
    },
  };
}

/** supervisord, when installed: one `[program:*]` per child. */
function supervisordSide(program: string): Side {
  let child: Deno.ChildProcess | null = null;
  return {
    name: "supervisord",
    start(dir, children) {
      const programs = children.map((argv, i) =>
        `[program:c${i}]\ncommand=${argv.map((w) => w.includes(" ") ? `"${w}"` : w).join(" ")}\n` +
        `autorestart=true\nstartsecs=0\nstartretries=1000000\nstdout_logfile=NONE\nstderr_logfile=NONE\n`
      );
      const config = join(dir, "supervisord.conf");
      Deno.writeTextFileSync(
        config,
        `[supervisord]\nnodaemon=true\nlogfile=${join(dir, "supervisord.log")}\npidfile=${
          join(dir, "supervisord.pid")
        }\n\n${programs.join("\n")}`,
      );
      child = new Deno.Command(program, { args: ["-c", config], stdout: "null", stderr: "null" })
        .spawn();
      return Promise.resolve(child.pid);
    },
    async stop() {
      if (child === null) return;
      child.kill("SIGTERM");
      await child.status;
      child = null;
    },
  };
}

async function installPm2(): Promise<string> {
  const home = await Deno.makeTempDir({ prefix: "bench-pm2-" });
  console.error(`installing pm2@${PM2_VERSION} from npm into ${home}`);
  const out = await new Deno.Command("npm", {
    args: [
      "install",
      "--no-save",
      "--no-audit",
      "--no-fund",
      "--prefix",
      home,
      `pm2@${PM2_VERSION}`,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (out.code !== 0) throw new Error(`npm install pm2: ${new TextDecoder().decode(out.stderr)}`);
  return home;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const fmt = (n: number, digits = 1) => Number.isFinite(n) ? n.toFixed(digits) : "–";

async function main() {
  const pm2Home = await installPm2();
  const supervisord = ["/usr/bin/supervisord", "/usr/local/bin/supervisord"]
    .find((p) => {
      try {
        return Deno.statSync(p).isFile;
      } catch {
        return false;
      }
    });
  const sides = [
    scriptmonSide(),
    scriptmonSide("zip"),
    pm2Side(pm2Home),
    ...(supervisord ? [supervisordSide(supervisord)] : []),
  ];
  const probe = (() => {
    const abort = new AbortController();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: abort.signal, onListen() {} },
      () => new Response("ok"),
    );
    return { url: `http://127.0.0.1:${server.addr.port}/health`, close: () => abort.abort() };
  })();
  const rows: Record<string, Record<string, number[]>> = {};
  const add = (row: string, side: string, value: number) => {
    ((rows[row] ??= {})[side] ??= []).push(value);
  };
  try {
    for (let rep = 1; rep <= REPEATS; rep++) {
      for (const side of rep % 2 ? sides : [...sides].reverse()) {
        for (const n of ROWS.has("idle") ? [10, 100] : []) {
          console.error(`run ${rep}: ${side.name}, ${n} sleeping children, ${WINDOW_SECONDS} s`);
          const first = await measure(side, sleepers(n), { steady: true });
          const s = first.steady!;
          add(
            `CPU just after start-up, ${n} sleeping children, per 30 s (ms)`,
            side.name,
            first.cpuMs * 30 / first.seconds,
          );
          add(
            `idle CPU, ${n} sleeping children, per 30 s (ms)`,
            side.name,
            s.cpuMs * 30 / s.seconds,
          );
          add(`context switches per second, idle, ${n} children`, side.name, s.switchesPerSecond);
          add(`RSS, ${n} children (MB)`, side.name, s.rssMb);
        }
        if (side.name.startsWith("scriptmon") && ROWS.has("checks")) {
          console.error(`run ${rep}: ${side.name}, 100 children with health checks`);
          const h = await measure(side, beaters(100), { probeUrl: probe.url, steady: true });
          add(
            "RSS, 100 children with a heartbeat and a 10 s HTTP probe each (MB)",
            side.name,
            h.steady!.rssMb,
          );
          add(
            "idle CPU, 100 children with a heartbeat and a 10 s HTTP probe each, per 30 s (ms)",
            side.name,
            h.steady!.cpuMs * 30 / h.steady!.seconds,
          );
        }
        if (side.name === "scriptmon (zip)") continue; // the same code restarts: idle rows only
        if (ROWS.has("restarts")) {
          console.error(`run ${rep}: ${side.name}, 10 children crashing every 2 s`);
          const r = await measure(side, crashers("2"), { waitFor: 1 });
          add(
            "CPU per restart, 10 children crashing every 2 s (ms)",
            side.name,
            r.cpuMs / r.starts,
          );
        }
        if (side.name === "scriptmon" && ROWS.has("crash")) {
          console.error(`run ${rep}: ${side.name}, 10 children dying 0.3 s after start`);
          const c = await measure(side, crashers("0.3"), { minDelayZero: true, waitFor: 1 });
          add(
            "CPU while 10 children die 0.3 s after start (% of a core)",
            side.name,
            c.cpuMs / 10 / c.seconds,
          );
        }
      }
    }
  } finally {
    probe.close();
    await Deno.remove(pm2Home, { recursive: true }).catch(() => {});
  }
  const names = sides.map((s) => s.name);
  const peers = names.filter((n) => !n.startsWith("scriptmon"));
  const header = [
    "measure (median of " + REPEATS + ")",
    ...names,
    ...peers.map((n) => `scriptmon / ${n}`),
  ];
  console.log(`| ${header.join(" | ")} |`);
  console.log(`| ${header.map(() => "---").join(" | ")} |`);
  for (const [row, bySide] of Object.entries(rows)) {
    const m = names.map((n) => bySide[n] ? median(bySide[n]) : NaN);
    const ratios = peers.map((n) => fmt(m[0] / median(bySide[n] ?? [NaN]), 2));
    console.log(`| ${row} | ${m.map((v) => fmt(v, 2)).join(" | ")} | ${ratios.join(" | ")} |`);
  }
}

if (import.meta.main) await main();
