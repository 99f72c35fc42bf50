/**
 * The agent's local API, served on 127.0.0.1 only: health, status, and the
 * control routes the CLI uses (those need the control secret).
 */
import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { getLogger } from "@logtape/logtape";
import type { ScriptStatus } from "./script_state.ts";
import { type Supervisor, UnknownScriptError } from "./supervisor.ts";
import type { ConfigIssue } from "./config.ts";
import type { CheckState } from "./health/types.ts";

/** What the API reports of the agent itself. */
export interface AgentInfo {
  version: string;
  pid: number;
  site: string;
  host: string;
  configPath: string;
  envName: string | null;
  startedAt: string;
  /** The last reload that failed, while the previous config keeps running. */
  configError: { at: string; message: string; issues: ConfigIssue[] } | null;
  /** The agent's own resources at the last sample (null before the first). */
  resources: AgentResources | null;
  /** Agent-wide checks: "agent-memory" and "disk:<path>" for data_dir and log_dir. */
  checks: CheckState[];
}

/** The agent process's own resources and the free disk of its folders. */
export interface AgentResources {
  /** ISO time of the sample. */
  at: string;
  rssBytes: number;
  cpuSeconds: number;
  disk: { path: string; freeBytes: number | null }[];
}

/** The body of `GET /api/status`. */
export interface StatusBody {
  agent: AgentInfo;
  scripts: ScriptStatus[];
}

/** What the API needs from the running agent. */
export interface ApiDeps {
  supervisor: Supervisor;
  info: () => AgentInfo;
  secret: string;
  /** Re-reads the config file now. */
  reload: () => Promise<void>;
}

const log = getLogger(["scriptmon", "api"]);
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Builds the local API app. */
export function createApi(deps: ApiDeps): Hono {
  const app = new Hono();

  // Loopback only, and not reachable through DNS rebinding from a browser.
  app.use("*", async (c, next) => {
    const host = (c.req.header("host") ?? "").replace(/:\d+$/, "");
    if (!LOOPBACK_HOSTS.has(host)) {
      throw new HTTPException(421, { message: `Host "${host}" is not a loopback name` });
    }
    await next();
  });
  app.use("*", bodyLimit({ maxSize: 64 * 1024 }));

  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/api/status", (c) => {
    const body: StatusBody = { agent: deps.info(), scripts: deps.supervisor.status() };
    return c.json(body);
  });

  const control = new Hono();
  control.use("*", bearerAuth({ token: deps.secret }));
  for (const action of ["start", "stop", "restart"] as const) {
    control.post(`/scripts/:name/${action}`, async (c) => {
      const runner = deps.supervisor.get(c.req.param("name"));
      log.info("Control request: {action} {script}", { action, script: runner.name });
      await runner[action]();
      return c.json({ ok: true, script: runner.status() });
    });
  }
  control.post("/reload", async (c) => {
    await deps.reload();
    return c.json({ ok: deps.info().configError === null, agent: deps.info() });
  });
  app.route("/api", control);

  app.notFound((c) => c.json({ error: `No route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => {
    if (error instanceof UnknownScriptError) return c.json({ error: error.message }, 404);
    if (error instanceof HTTPException) {
      return c.json({ error: error.message || "request refused" }, error.status);
    }
    log.error("Local API {method} {path} failed: {error}", {
      method: c.req.method,
      path: c.req.path,
      error,
    });
    return c.json({ error: "internal error; see the agent log" }, 500);
  });
  return app;
}
