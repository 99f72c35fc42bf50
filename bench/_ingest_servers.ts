/**
 * The servers `bench/alertmanager_bench.ts` puts side by side, each started in its own processes
 * on loopback ports with a temporary folder and stopped by their pids: the collector as
 * `deno task collector serve` runs it, on its KV file; two collector replicas on one PostgreSQL
 * database (a private cluster started here, as the tests do); and Prometheus Alertmanager. Each
 * knows how to send a workstation's report in its own model.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { Store } from "../collector/store/mod.ts";
import { sampleIngest, script } from "../collector/_testing.ts";
import { openPostgres } from "../collector/store/postgres/mod.ts";
import type { IngestRequest } from "../shared/mod.ts";
import { startCluster } from "../tests/_postgres.ts";
import { collectorFlags } from "../scripts/agent_flags.ts";
import { type Fleet, REQUEST_TIMEOUT_MS, type Send, sleep } from "./_ingest_load.ts";
import { Poster } from "./_http_post.ts";

/** Each workstation's 10 scripts as its heartbeat reports them: one in backoff, nine running. */
export const SCRIPTS = Array.from(
  { length: 10 },
  (_, i) => script(`script_${i}`, { state: i === 0 ? "backoff" : "running" }),
);
const MAIN = resolve(import.meta.dirname!, "..", "collector", "main.ts");
const ROOT = resolve(import.meta.dirname!, "..");
/** The collector's ingest path. */
const INGEST = "/api/v1/ingest";

/** A server under test, running. */
export interface Server {
  /** Its processes (the collector's replicas), whose CPU, threads and memory are measured. */
  pids: number[];
  /** A database's postmaster, whose CPU and its backends' counts as the server's too. */
  databasePid?: number;
  send: Send;
  /** Stops it (SIGTERM, SIGKILL after a grace) and awaits its exit; safe to call twice. */
  stop(): Promise<void>;
}

/** A kind of server: starts one in `dir` for `fleet`. */
export interface Side {
  name: string;
  start(dir: string, fleet: Fleet, signal: AbortSignal): Promise<Server>;
}

/** A server asked to stop gets this long before SIGKILL. */
const STOP_GRACE_MS = 5_000;

/** A free loopback port (another process may take it before ours listens: rare, and loud). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Spawns `command` in `cwd` with its stderr (where both servers log) in `log`, and waits until
 * `ready` answers 200 (30 s at most). `stop()` sends SIGTERM, SIGKILL after a grace, and awaits
 * the exit; it may be called more than once. On any failure the process is stopped before the
 * error is thrown.
 */
async function spawnServer(
  options: {
    command: string;
    args: string[];
    cwd: string;
    log: string;
    ready: string;
    signal: AbortSignal;
  },
): Promise<{ pid: number; stop(): Promise<void> }> {
  const file = await Deno.open(options.log, { write: true, create: true, truncate: true });
  const child = new Deno.Command(options.command, {
    args: options.args,
    cwd: options.cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const written = child.stderr.pipeTo(file.writable);
  let exited = false;
  const status = child.status.finally(() => exited = true);
  let stopping: Promise<void> | null = null;
  const stop = () =>
    stopping ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already exited */ }
      const grace = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* exited meanwhile */ }
      }, STOP_GRACE_MS);
      await status;
      clearTimeout(grace);
      await written.catch(() => {});
    })();
  try {
    for (let i = 0; i < 300; i++) {
      if (exited) throw new Error(`exited before answering ${options.ready}`);
      const ok = await fetch(options.ready, { signal: AbortSignal.timeout(1000) }).then(
        async (r) => (await r.body?.cancel(), r.ok),
        () => false,
      );
      if (ok) return { pid: child.pid, stop };
      await sleep(100, options.signal);
    }
    throw new Error(`did not answer ${options.ready} within 30s`);
  } catch (error) {
    await stop();
    if (options.signal.aborted) throw error;
    const tail = (await Deno.readTextFile(options.log).catch(() => "")).slice(-2000);
    throw new Error(`Cannot start ${options.command}: ${(error as Error).message}\n${tail}`, {
      cause: error,
    });
  }
}

/** Posts `body` to `path` with the request timeout; the answer's text, or null when not 2xx. */
async function post(
  poster: Poster,
  path: string,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<string | null> {
  try {
    const answer = await poster.post(path, body, headers, REQUEST_TIMEOUT_MS, signal);
    return answer.status >= 200 && answer.status < 300 ? answer.body : null;
  } catch {
    return null;
  }
}

/** When this process began: the running scripts' uptime counts from it. */
const LOADED_AT = Date.now();

/**
 * Workstation `index`'s report of the moment, in the collector's wire form (advances its seq): its
 * running scripts' uptime, memory and CPU move with every report, as an agent's do.
 */
function report(fleet: Fleet, index: number): IngestRequest {
  const w = fleet.workstations[index];
  const sent = w.sent++;
  const uptimeMs = 60_000 + Date.now() - LOADED_AT;
  const scripts = SCRIPTS.map((s, i) =>
    s.state !== "running" ? s : {
      ...s,
      uptimeMs,
      rssBytes: 10_000_000 + ((sent * 7_919 + i * 104_729) % 1_000_000),
      cpuPercent: ((sent + i) % 50) / 10,
    }
  );
  return sampleIngest(w, { pid: 1000 + index, batch: 1 + (sent % 2), scripts });
}

/** `deno task collector`'s flags, and BENCH_COLLECTOR_FLAGS's (`--cpu-prof` to profile). */
function collectorRunFlags(): string[] {
  const extra = (Deno.env.get("BENCH_COLLECTOR_FLAGS") ?? "").split(/\s+/).filter((f) => f !== "");
  return [...collectorFlags(), ...extra];
}

/** Agent tokens for every workstation of `fleet`, created in `store`. */
async function createTokens(store: Store, fleet: Fleet, signal: AbortSignal): Promise<void> {
  for (const w of fleet.workstations) {
    signal.throwIfAborted();
    const now = Date.now();
    w.token = (await store.createToken({ kind: "agent", name: w.host, site: w.site, now })).token;
  }
}

/**
 * One collector process, its config `dir/<name>.toml`, its data folder `dir/data`; on the
 * PostgreSQL database `store`, or on the KV file there when null.
 */
async function startCollector(
  dir: string,
  name: string,
  store: string | null,
  signal: AbortSignal,
): Promise<{ pid: number; poster: Poster; stop(): Promise<void> }> {
  const port = freePort();
  const config = join(dir, `${name}.toml`);
  // Workstations silent for 5 minutes go offline, as Alertmanager resolves an alert not sent
  // again for 5 minutes (its `resolve_timeout`): the bench's 30 s pause is a pause for both
  // sides, not an outage and a recovery for one (measured on their own in bench/README.md).
  await Deno.writeTextFile(
    config,
    `[collector]\nlisten = "127.0.0.1:${port}"\ndata_dir = "data"\nlog_level = "warning"\n` +
      `offline_after = "5m"\n` + (store === null ? "" : `store = "${store}"\n`),
  );
  const base = `http://127.0.0.1:${port}`;
  const server = await spawnServer({
    command: Deno.execPath(),
    args: ["run", ...collectorRunFlags(), MAIN, "--config", config, "serve"],
    cwd: ROOT,
    log: join(dir, `${name}.log`),
    ready: `${base}/healthz`,
    signal,
  });
  const poster = new Poster(base);
  return { pid: server.pid, poster, stop: () => (poster.close(), server.stop()) };
}

/** Sends workstation `index`'s report to `poster`'s collector; true when the answer acknowledges it. */
async function sendReport(fleet: Fleet, index: number, poster: Poster, signal: AbortSignal) {
  const w = fleet.workstations[index];
  const body = JSON.stringify(report(fleet, index));
  const want = w.seq;
  const answer = await post(poster, INGEST, body, { authorization: `Bearer ${w.token}` }, signal);
  try {
    return answer !== null && JSON.parse(answer).ackedSeq === want;
  } catch {
    return false; // not the collector's JSON
  }
}

export const collectorSide: Side = {
  name: "scriptmon (KV)",
  async start(dir, fleet, signal) {
    const dataDir = join(dir, "data");
    await Deno.mkdir(dataDir);
    const kv = await Deno.openKv(join(dataDir, "collector.kv"));
    try {
      await createTokens(new Store(kv), fleet, signal);
    } finally {
      kv.close();
    }
    const { pid, poster, stop } = await startCollector(dir, "collector", null, signal);
    return { pids: [pid], stop, send: (index, signal) => sendReport(fleet, index, poster, signal) };
  },
};

/**
 * `replicas` collectors on one PostgreSQL database, a private cluster started in `dir` (as the
 * tests start it); each workstation reports to one of them, as a load balancer keeping an
 * agent's connection would send it.
 */
export function postgresSide(replicas: number): Side {
  return {
    name: `scriptmon (PostgreSQL, ${replicas} ${replicas === 1 ? "replica" : "replicas"})`,
    async start(dir, fleet, signal) {
      await Deno.mkdir(join(dir, "data"));
      const cluster = await startCluster({ durable: true });
      const started: { pid: number; poster: Poster; stop(): Promise<void> }[] = [];
      const stop = async () => {
        for (const s of started) await s.stop();
        await cluster.stop();
      };
      try {
        const { kv } = await openPostgres(cluster.url);
        try {
          await createTokens(new Store(kv), fleet, signal);
        } finally {
          await kv.closed();
        }
        for (let i = 0; i < replicas; i++) {
          started.push(await startCollector(dir, `replica${i + 1}`, cluster.url, signal));
        }
      } catch (error) {
        await stop();
        throw error;
      }
      return {
        pids: started.map((s) => s.pid),
        databasePid: cluster.pid,
        stop,
        send: (index, signal) =>
          sendReport(fleet, index, started[index % started.length].poster, signal),
      };
    },
  };
}

/** One alert per script of `request`, its events as annotations of their script's alert. */
function toAlerts(request: IngestRequest, startsAt: string): unknown[] {
  const { site, host, now } = request.agent;
  const endsAt = new Date(Date.parse(now) + 5 * 60_000).toISOString();
  return request.scripts.map((s) => {
    const events = request.events.filter((e) => e.script === s.name);
    return {
      labels: {
        alertname: "ScriptState",
        site,
        host,
        script: s.name,
        state: s.state,
        health: s.health,
      },
      annotations: {
        enabled: String(s.enabled),
        pid: String(s.pid),
        uptime_ms: String(s.uptimeMs),
        restarts: String(s.restarts),
        rss_bytes: String(s.rssBytes),
        cpu_percent: String(s.cpuPercent),
        ...(s.reason === null ? {} : { reason: s.reason }),
        ...(events.length === 0 ? {} : { events: JSON.stringify(events) }),
      },
      startsAt,
      endsAt,
    };
  });
}

/** Alertmanager (`program`) with a null receiver and no clustering, its state in `dir`. */
export function alertmanagerSide(program: string): Side {
  return {
    name: "Alertmanager",
    async start(dir, fleet, signal) {
      const config = join(dir, "alertmanager.yml");
      await Deno.writeTextFile(
        config,
        `route:\n  receiver: "null"\n  group_by: ["site"]\nreceivers:\n  - name: "null"\n`,
      );
      const port = freePort();
      const base = `http://127.0.0.1:${port}`;
      const server = await spawnServer({
        command: program,
        args: [
          `--config.file=${config}`,
          `--storage.path=${join(dir, "data")}`,
          `--web.listen-address=127.0.0.1:${port}`,
          "--cluster.listen-address=",
          "--log.level=warn",
        ],
        cwd: ROOT,
        log: join(dir, "alertmanager.log"),
        ready: `${base}/-/ready`,
        signal,
      });
      const poster = new Poster(base);
      const startsAt = new Date().toISOString();
      return {
        pids: [server.pid],
        stop: () => (poster.close(), server.stop()),
        async send(index, signal) {
          const body = JSON.stringify(toAlerts(report(fleet, index), startsAt));
          return await post(poster, "/api/v2/alerts", body, {}, signal) !== null;
        },
      };
    },
  };
}
