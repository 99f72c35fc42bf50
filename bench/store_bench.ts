/**
 * The collector's two stores side by side (issue 16): the same simulated
 * fleet (`BENCH_AGENTS` workstations, default 1,000, at 20 sites; each request
 * a heartbeat of 10 scripts and 10 events; `BENCH_CONCURRENCY` in flight,
 * default 50, for `BENCH_SECONDS`, default 10, after `BENCH_WARMUP_SECONDS`,
 * default 3, not counted) against collector processes:
 * one on a Deno KV file, one on PostgreSQL, two replicas on one PostgreSQL
 * (requests spread over both, as a load balancer would). PostgreSQL is a
 * private cluster started here (tests/_postgres.ts). Then the fleet listing:
 * the first page of `GET /api/v1/scripts?limit=100` and the whole list, at
 * the fleet's size and after growing it to `BENCH_BIG_AGENTS` (default
 * 10,000: 100,000 scripts). Prints one table; the collectors', the database's
 * and the load generator's CPU are read from /proc. `BENCH_STORES` picks the
 * runs (default `kv,pg1,pg2`).
 */
import { join } from "node:path";
import { Store } from "../collector/store/mod.ts";
import { openPostgres } from "../collector/store/postgres/mod.ts";
import { sampleIngest, script } from "../collector/_testing.ts";
import type { KvHandle } from "../shared/mod.ts";
import { startCluster } from "../tests/_postgres.ts";

const AGENTS = Number(Deno.env.get("BENCH_AGENTS") ?? 1000);
const BIG_AGENTS = Number(Deno.env.get("BENCH_BIG_AGENTS") ?? 10_000);
const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 10);
const WARMUP = Number(Deno.env.get("BENCH_WARMUP_SECONDS") ?? 3);
const CONCURRENCY = Number(Deno.env.get("BENCH_CONCURRENCY") ?? 50);
/** Which runs: `kv`, `pg1` (one collector on PostgreSQL), `pg2` (two replicas). */
const MODES = (Deno.env.get("BENCH_STORES") ?? "kv,pg1,pg2").split(",");
const BATCH = 10;
const SCRIPTS = 10;
const COLLECTOR_MAIN = new URL("../collector/main.ts", import.meta.url).pathname;
const TICKS = 100; // /proc CPU ticks per second on Linux

const scripts = Array.from(
  { length: SCRIPTS },
  (_, i) => script(`script_${i}`, { state: i === 0 ? "backoff" : "running" }),
);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function cpuTicks(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** CPU ticks of the database: the postmaster `pid` and its children (the backends). */
function treeTicks(pid: number | null): number {
  if (pid === null) return 0;
  let ticks = 0;
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const fields = Deno.readTextFileSync(`/proc/${entry.name}/stat`).split(") ")[1].split(" ");
      if (Number(entry.name) === pid || Number(fields[1]) === pid) {
        ticks += Number(fields[11]) + Number(fields[12]);
      }
    } catch { /* gone meanwhile */ }
  }
  return ticks;
}

interface Agent {
  site: string;
  host: string;
  token: string;
  seq: number;
}

function body(agent: Agent, index: number): string {
  return JSON.stringify(sampleIngest(agent, { pid: 1000 + index, batch: BATCH, scripts }));
}

async function makeAgents(kv: KvHandle, from: number, to: number): Promise<Agent[]> {
  const store = new Store(kv);
  const now = Date.now();
  const out: Agent[] = [];
  for (let i = from; i < to; i++) {
    const host = `ws-${String(i).padStart(5, "0")}`;
    const site = `FC${i % 20}`;
    const { token } = await store.createToken({ kind: "agent", name: host, site, now });
    out.push({ site, host, token, seq: 0 });
  }
  return out;
}

/** A collector `serve` process on `config`; resolves once /healthz answers. */
async function startCollector(config: string, port: number): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", COLLECTOR_MAIN, "--config", config, "serve"],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
    env: { NO_COLOR: "1" },
  }).spawn();
  for (let i = 0; i < 300; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      await res.body?.cancel();
      if (res.ok) return child;
    } catch { /* not yet */ }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the collector on port ${port} did not come up in 30 s`);
}

interface Result {
  mode: string;
  eventsPerSecond: number;
  statesPerSecond: number;
  p50: number;
  p99: number;
  failed: number;
  cpuPerRequestMs: number;
  dbCpuPerRequestMs: number;
  loadCpuPerRequestMs: number;
  firstPage: number;
  fullList: number;
  rows: number;
  bigFirstPage: number;
  bigFullList: number;
  bigRows: number;
}

async function listing(bases: string[], apiToken: string): Promise<[number, number, number]> {
  const time = async (path: string) => {
    const samples: number[] = [];
    let rows = 0;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const res = await fetch(`${bases[i % bases.length]}${path}`, {
        headers: { authorization: `Bearer ${apiToken}` },
      });
      rows = (await res.json()).scripts.length;
      samples.push(performance.now() - t0);
    }
    samples.sort((a, b) => a - b);
    return { p50: percentile(samples, 50), rows };
  };
  const first = await time("/api/v1/scripts?limit=100");
  const all = await time("/api/v1/scripts");
  return [first.p50, all.p50, all.rows];
}

async function run(
  mode: string,
  kv: KvHandle,
  configs: { path: string; port: number }[],
  log: (line: string) => void,
  database: number | null,
): Promise<Result> {
  log(`${mode}: creating ${AGENTS} agent tokens`);
  const agents = await makeAgents(kv, 0, AGENTS);
  const apiToken = (await new Store(kv).createToken({
    kind: "api",
    name: "bench",
    role: "admin",
    now: Date.now(),
  }))
    .token;
  const children: Deno.ChildProcess[] = [];
  try {
    for (const { path, port } of configs) children.push(await startCollector(path, port));
    const bases = configs.map(({ port }) => `http://127.0.0.1:${port}`);
    const latencies: number[] = [];
    let accepted = 0;
    let failed = 0;
    /** The closed loop for `seconds`; counted only when `measure`. */
    const drive = (seconds: number, measure: boolean) => {
      const deadline = performance.now() + seconds * 1000;
      return Promise.all(Array.from({ length: CONCURRENCY }, async (_, worker) => {
        for (let round = 0; performance.now() < deadline; round++) {
          const index = (worker + round * CONCURRENCY) % AGENTS;
          const agent = agents[index];
          const t0 = performance.now();
          let ok = false;
          try {
            const response = await fetch(`${bases[index % bases.length]}/api/v1/ingest`, {
              method: "POST",
              headers: {
                authorization: `Bearer ${agent.token}`,
                "content-type": "application/json",
              },
              body: body(agent, index),
            });
            const answer = await response.json();
            ok = response.ok && answer.ackedSeq === agent.seq;
          } catch { /* counted below */ }
          if (!measure) continue;
          if (ok) accepted += BATCH;
          else failed++;
          latencies.push(performance.now() - t0);
        }
      }));
    };
    // Both collectors compile their hot paths and fill their pools first, as a running one has.
    log(`${mode}: ${WARMUP} s of warm-up, then ${SECONDS} s of ingest, ${CONCURRENCY} in flight`);
    await drive(WARMUP, false);
    const cpuBefore = children.map((c) => cpuTicks(c.pid));
    const dbBefore = treeTicks(database);
    const loadBefore = cpuTicks(Deno.pid);
    const started = performance.now();
    await drive(SECONDS, true);
    const elapsed = (performance.now() - started) / 1000;
    const dbMs = (treeTicks(database) - dbBefore) * (1000 / TICKS);
    const loadMs = (cpuTicks(Deno.pid) - loadBefore) * (1000 / TICKS);
    const cpuMs = children.reduce((sum, c, i) => sum + cpuTicks(c.pid) - cpuBefore[i], 0) *
      (1000 / TICKS);
    latencies.sort((a, b) => a - b);
    log(`${mode}: listing ${AGENTS * SCRIPTS} scripts`);
    const [firstPage, fullList, rows] = await listing(bases, apiToken);
    log(`${mode}: growing the fleet to ${BIG_AGENTS} agents`);
    const more = await makeAgents(kv, AGENTS, BIG_AGENTS);
    for (let i = 0; i < more.length; i += CONCURRENCY) {
      await Promise.all(
        more.slice(i, i + CONCURRENCY).map(async (agent, j) => {
          const res = await fetch(`${bases[j % bases.length]}/api/v1/ingest`, {
            method: "POST",
            headers: { authorization: `Bearer ${agent.token}`, "content-type": "application/json" },
            body: body(agent, AGENTS + i + j),
          });
          await res.body?.cancel();
        }),
      );
    }
    const [bigFirstPage, bigFullList, bigRows] = await listing(bases, apiToken);
    return {
      mode,
      eventsPerSecond: Math.round(accepted / elapsed),
      statesPerSecond: Math.round((accepted / BATCH) * SCRIPTS / elapsed),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      failed,
      cpuPerRequestMs: cpuMs / latencies.length,
      dbCpuPerRequestMs: dbMs / latencies.length,
      loadCpuPerRequestMs: loadMs / latencies.length,
      firstPage,
      fullList,
      rows,
      bigFirstPage,
      bigFullList,
      bigRows,
    };
  } finally {
    for (const child of children) {
      child.kill("SIGTERM"); // by pid: the processes this bench started
      await child.status;
    }
  }
}

const log = (line: string) => console.error(`[store bench] ${line}`);
const dir = await Deno.makeTempDir({ prefix: "scriptmon-store-bench-" });
const cluster = await startCluster();
const results: Result[] = [];
try {
  const header = `listen = "127.0.0.1:PORT"\nlog_level = "warning"\n`;
  const write = async (name: string, store: string | null) => {
    const port = freePort();
    const path = join(dir, `${name}.toml`);
    await Deno.writeTextFile(
      path,
      `[collector]\n${header.replace("PORT", String(port))}data_dir = "${name}"\n` +
        (store === null ? "" : `store = "${store}"\n`),
    );
    return { path, port };
  };

  // One collector on a KV file.
  if (MODES.includes("kv")) {
    const kvConfig = await write("kv", null);
    await Deno.mkdir(join(dir, "kv"));
    const kv = await Deno.openKv(join(dir, "kv", "collector.kv"));
    try {
      results.push(await run("KV, one collector", kv, [kvConfig], log, null));
    } finally {
      kv.close();
    }
  }
  // PostgreSQL: one collector, then two replicas, each on a fresh database.
  for (const replicas of [1, 2].filter((n) => MODES.includes(`pg${n}`))) {
    const name = `pg${replicas}`;
    const admin = await openPostgres(cluster.url, { max: 1 });
    await admin.kv.sql.unsafe(`CREATE DATABASE ${name}`);
    await admin.kv.closed();
    const url = cluster.url.replace(/\/postgres$/, `/${name}`);
    const { kv } = await openPostgres(url, { max: 4 });
    try {
      const configs = [];
      for (let i = 0; i < replicas; i++) configs.push(await write(`${name}-${i}`, url));
      const mode = replicas === 1 ? "PostgreSQL, one collector" : "PostgreSQL, two replicas";
      results.push(await run(mode, kv, configs, log, cluster.pid));
    } finally {
      await kv.closed();
    }
  }
} finally {
  await cluster.stop();
  await Deno.remove(dir, { recursive: true });
}

const ms = (n: number) => `${n.toFixed(1)} ms`;
const row = (label: string, pick: (r: Result) => string) =>
  console.log(`| ${label} | ${results.map(pick).join(" | ")} |`);
console.log(
  `store bench: ${AGENTS} agents at 20 sites, ${BATCH} events + ${SCRIPTS} scripts per request, ` +
    `${CONCURRENCY} in flight, ${SECONDS} s per store; listing at ${AGENTS * SCRIPTS} and ` +
    `${BIG_AGENTS * SCRIPTS} scripts`,
);
console.log(`| measure | ${results.map((r) => r.mode).join(" | ")} |`);
console.log(`| --- | ${results.map(() => "---").join(" | ")} |`);
row("events accepted per second", (r) => String(r.eventsPerSecond));
row("script-states per second", (r) => String(r.statesPerSecond));
row("ingest latency p50", (r) => ms(r.p50));
row("ingest latency p99", (r) => ms(r.p99));
row("failed requests", (r) => String(r.failed));
row("server CPU per request (all collectors)", (r) => ms(r.cpuPerRequestMs));
row("database CPU per request", (r) => r.mode.startsWith("KV") ? "" : ms(r.dbCpuPerRequestMs));
row("load generator CPU per request", (r) => ms(r.loadCpuPerRequestMs));
const small = (AGENTS * SCRIPTS).toLocaleString("en");
const big = (BIG_AGENTS * SCRIPTS).toLocaleString("en");
row(`first page of scripts (100 of ${small})`, (r) => ms(r.firstPage));
row(`all ${small} scripts`, (r) => ms(r.fullList));
row(`first page of scripts (100 of ${big})`, (r) => ms(r.bigFirstPage));
row(`all ${big} scripts`, (r) => ms(r.bigFullList));
