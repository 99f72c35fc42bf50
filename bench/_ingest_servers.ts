/**
 * The two servers `bench/alertmanager_bench.ts` puts side by side, each started in its own process
 * on a loopback port with a temporary folder and stopped by its pid: the collector as
 * `collector/main.ts serve` runs it, on its KV file, and Prometheus Alertmanager. Each knows how
 * to send a workstation's report in its own model.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { Store } from "../collector/store/mod.ts";
import { sampleIngest, script } from "../collector/_testing.ts";
import type { IngestRequest } from "../shared/mod.ts";
import { type Fleet, REQUEST_TIMEOUT_MS, type Send, sleep } from "./_ingest_load.ts";

/** Each workstation's 10 scripts as its heartbeat reports them: one in backoff, nine running. */
export const SCRIPTS = Array.from(
  { length: 10 },
  (_, i) => script(`script_${i}`, { state: i === 0 ? "backoff" : "running" }),
);
const MAIN = resolve(import.meta.dirname!, "..", "collector", "main.ts");
const ROOT = resolve(import.meta.dirname!, "..");

/** A server under test, running. */
export interface Server {
  pid: number;
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

/** Posts `body` with the request timeout; the answer's text, or null when it was not 2xx. */
async function post(
  url: string,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<string | null> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
      signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
    });
    const text = await response.text();
    return response.ok ? text : null;
  } catch {
    return null;
  }
}

/** Workstation `index`'s report of the moment, in the collector's wire form (advances its seq). */
function report(fleet: Fleet, index: number): IngestRequest {
  const w = fleet.workstations[index];
  return sampleIngest(w, { pid: 1000 + index, batch: 1 + (w.sent++ % 2), scripts: SCRIPTS });
}

/** The collector as `collector/main.ts serve` runs it, on a KV file in `dir`. */
function collectorFlags(): string[] {
  return (Deno.env.get("BENCH_COLLECTOR_FLAGS") ?? "").split(/\s+/).filter((f) => f !== "");
}

export const collectorSide: Side = {
  name: "scriptmon (KV)",
  async start(dir, fleet, signal) {
    const dataDir = join(dir, "data");
    await Deno.mkdir(dataDir);
    const kv = await Deno.openKv(join(dataDir, "collector.kv"));
    try {
      const store = new Store(kv);
      for (const w of fleet.workstations) {
        signal.throwIfAborted();
        const now = Date.now();
        w.token = (await store.createToken({ kind: "agent", name: w.host, site: w.site, now }))
          .token;
      }
    } finally {
      kv.close();
    }
    const port = freePort();
    const config = join(dir, "collector.toml");
    await Deno.writeTextFile(
      config,
      `[collector]\nlisten = "127.0.0.1:${port}"\ndata_dir = "data"\nlog_level = "warning"\n`,
    );
    const base = `http://127.0.0.1:${port}`;
    const server = await spawnServer({
      command: Deno.execPath(),
      // BENCH_COLLECTOR_FLAGS: more `deno run` flags for the collector (`--cpu-prof` to profile).
      args: ["run", "--allow-all", ...collectorFlags(), MAIN, "--config", config, "serve"],
      cwd: ROOT,
      log: join(dir, "collector.log"),
      ready: `${base}/healthz`,
      signal,
    });
    const url = `${base}/api/v1/ingest`;
    return {
      ...server,
      async send(index, signal) {
        const w = fleet.workstations[index];
        const body = JSON.stringify(report(fleet, index));
        const want = w.seq;
        const answer = await post(url, body, { authorization: `Bearer ${w.token}` }, signal);
        try {
          return answer !== null && JSON.parse(answer).ackedSeq === want;
        } catch {
          return false; // not the collector's JSON
        }
      },
    };
  },
};

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
      const url = `${base}/api/v2/alerts`;
      const startsAt = new Date().toISOString();
      return {
        ...server,
        async send(index, signal) {
          const body = JSON.stringify(toAlerts(report(fleet, index), startsAt));
          return await post(url, body, {}, signal) !== null;
        },
      };
    },
  };
}
