/**
 * A real fleet on loopback for the end-to-end tests: one collector process
 * (`collector/main.ts serve`) on a free port with its KV in a temp dir, and
 * agent processes ({@linkcode AgentProcess}) whose `[collector]` points at it.
 */
import { join, resolve } from "node:path";
import { AgentProcess } from "./_agent_process.ts";
import { until } from "./_helpers.ts";

const COLLECTOR_MAIN = resolve(import.meta.dirname!, "..", "collector", "main.ts");

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** One collector CLI command (not `serve`) to completion; throws unless it exits 0. */
async function collectorCli(config: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", COLLECTOR_MAIN, "--config", config, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b).trim();
  if (out.code !== 0) {
    throw new Error(`collector ${args.join(" ")} exited ${out.code}: ${decode(out.stderr)}`);
  }
  return decode(out.stdout);
}

/** The collector `serve` process; `stop()` and `start()` again keep the port and data dir. */
export class CollectorProcess implements AsyncDisposable {
  readonly config: string;
  readonly port: number;
  readonly url: string;
  #child: Deno.ChildProcess | null = null;
  #stderr: Promise<string> = Promise.resolve("");

  constructor(config: string, port: number) {
    this.config = config;
    this.port = port;
    this.url = `http://127.0.0.1:${port}/`;
  }

  /** The pid of the running `serve` process, or null while stopped. */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /** Prints a new agent token for `site` (run before `start()` or while stopped). */
  agentToken(site: string, name: string): Promise<string> {
    return collectorCli(this.config, "agent-token", "create", site, name);
  }

  /** Prints a new API token (operator: it controls scripts). */
  apiToken(name: string, role: "operator" | "admin" = "operator"): Promise<string> {
    return collectorCli(this.config, "api-token", "create", name, "--role", role);
  }

  /** Prints a new wall token (`wall-token create <name>`): read-only, for `/wall?key=`. */
  wallToken(name: string): Promise<string> {
    return collectorCli(this.config, "wall-token", "create", name);
  }

  /** Adds a web user (`user add <name> --role <role> [--sites ...] --password-stdin`). */
  async addUser(
    name: string,
    options: { role: "viewer" | "operator" | "admin"; password: string; sites?: string[] },
  ): Promise<void> {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        COLLECTOR_MAIN,
        "--config",
        this.config,
        "user",
        "add",
        name,
        "--role",
        options.role,
        ...(options.sites === undefined ? [] : ["--sites", options.sites.join(",")]),
        "--password-stdin",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(`${options.password}\n`));
    await writer.close();
    const out = await child.output();
    if (out.code !== 0) {
      throw new Error(
        `user add ${name} exited ${out.code}: ${new TextDecoder().decode(out.stderr)}`,
      );
    }
  }

  /** Starts `serve` and waits until `/healthz` answers. */
  async start(): Promise<void> {
    if (this.#child !== null) throw new Error("the collector is already running");
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", COLLECTOR_MAIN, "--config", this.config, "serve"],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#stderr = new Response(this.#child.stderr).text();
    const child = this.#child;
    let exited = false;
    child.status.then(() => exited = true);
    await until("the collector's /healthz", async () => {
      if (exited) throw new Error(`the collector exited early: ${await this.#stderr}`);
      try {
        const res = await fetch(`${this.url}healthz`);
        await res.body?.cancel();
        return res.ok;
      } catch {
        return false;
      }
    }, 30_000);
  }

  /** SIGTERMs `serve` and awaits its exit; returns its log output. */
  async stop(): Promise<string> {
    const child = this.#child;
    if (child === null) return "";
    this.#child = null;
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
    await child.status;
    return await this.#stderr;
  }

  /** SIGKILLs `serve` (a machine lost: no shutdown of any kind) and awaits its exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    this.#child = null;
    child.kill("SIGKILL");
    await child.status;
    await this.#stderr;
  }

  async [Symbol.asyncDispose]() {
    await this.stop();
  }
}

/** A collector, an API token, and the agents started against it, all in one temp dir. */
export class Fleet implements AsyncDisposable {
  readonly dir: string;
  readonly collector: CollectorProcess;
  readonly apiToken: string;
  readonly agents: AgentProcess[] = [];

  private constructor(dir: string, collector: CollectorProcess, apiToken: string) {
    this.dir = dir;
    this.collector = collector;
    this.apiToken = apiToken;
  }

  /**
   * Writes the collector's config (offline_after 3s unless `offlineAfter` says otherwise, then
   * `extraToml`: webhooks, `[notify]`), makes an API token, starts serving.
   */
  static async start(
    options: { extraToml?: string; offlineAfter?: string } = {},
  ): Promise<Fleet> {
    const dir = await Deno.makeTempDir({ prefix: "fleet-" });
    const config = join(dir, "collector.toml");
    const port = freePort();
    await Deno.writeTextFile(
      config,
      `[collector]\nlisten = "127.0.0.1:${port}"\ndata_dir = "collector"\n` +
        `offline_after = "${options.offlineAfter ?? "3s"}"\nlog_level = "info"\n\n${
          options.extraToml ?? ""
        }`,
    );
    const collector = new CollectorProcess(config, port);
    const fleet = new Fleet(dir, collector, await collector.apiToken("fleet-tests"));
    await collector.start();
    return fleet;
  }

  /**
   * Writes an agent config for `site`/`host` (a fresh agent token, of `environment` when given;
   * heartbeat every 1s) with the given `[scripts.*]` TOML; returns its path.
   */
  async agentConfig(
    site: string,
    host: string,
    scripts: string,
    options: { environment?: string } = {},
  ): Promise<string> {
    const dir = join(this.dir, host);
    await Deno.mkdir(dir, { recursive: true });
    const env = options.environment === undefined ? [] : ["--environment", options.environment];
    const token = await collectorCli(
      this.collector.config,
      "agent-token",
      "create",
      site,
      host,
      ...env,
    );
    const path = join(dir, "scriptmon.toml");
    await Deno.writeTextFile(
      path,
      `[agent]\nsite = "${site}"\nhost = "${host}"\ndata_dir = "data"\napi_port = 0\n` +
        `log_level = "debug"\n\n` +
        `[collector]\nurl = "${this.collector.url}"\ntoken = "${token}"\n` +
        `heartbeat_interval = "1s"\ntimeout = "2s"\n\n` +
        `[defaults]\nstop_timeout = "2s"\n[defaults.restart]\nmin_delay = "50ms"\n` +
        `max_delay = "200ms"\njitter = 0.0\n\n` + scripts,
    );
    return path;
  }

  /** Starts an agent process from `agentConfig()`'s file and waits for its local API. */
  async startAgent(config: string): Promise<AgentProcess> {
    const agent = new AgentProcess(config);
    this.agents.push(agent);
    await agent.ready();
    return agent;
  }

  /** A request to the collector's API with the API token. */
  api(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(new URL(path, this.collector.url), {
      ...init,
      headers: { authorization: `Bearer ${this.apiToken}`, ...init.headers },
    });
  }

  /** `GET` an API path as JSON; throws on a non-2xx status with the body. */
  async getJson<T>(path: string): Promise<T> {
    const res = await this.api(path);
    const text = await res.text();
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** The collector's `online` flag for an agent (undefined: it has not reported). */
  async agentOnline(site: string, host: string): Promise<boolean | undefined> {
    const { agents } = await this.getJson<
      { agents: { site: string; host: string; online: boolean }[] }
    >(
      `/api/v1/agents?site=${site}`,
    );
    return agents.find((a) => a.host === host)?.online;
  }

  /** Every event seq the collector holds for `host`, paging `GET /api/v1/events` (ascending). */
  async eventSeqs(host: string): Promise<number[]> {
    const seqs: number[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10_000; page++) {
      const query = new URLSearchParams({ host, limit: "1000" });
      if (cursor !== null) query.set("cursor", cursor);
      const body: { events: { seq: number }[]; cursor: string | null } = await this.getJson(
        `/api/v1/events?${query}`,
      );
      seqs.push(...body.events.map((e) => e.seq));
      cursor = body.cursor;
      if (cursor === null) return seqs.reverse();
    }
    throw new Error(`more than 10,000 pages of events for ${host}`);
  }

  /** Stops every agent (SIGTERM), then the collector, then removes the temp dir. */
  async [Symbol.asyncDispose]() {
    await Promise.all(this.agents.map((a) => a[Symbol.asyncDispose]()));
    await this.collector.stop();
    await Deno.remove(this.dir, { recursive: true });
  }
}
