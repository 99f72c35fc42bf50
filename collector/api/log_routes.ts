/**
 * `GET /api/v1/agents/<site>/<host>/scripts/<script>/logs?lines=&after=`:
 * a script's log lines, fetched from its agent through the command channel
 * (a read-only `logs` command, queued with a short ttl, recorded with who
 * asked) and answered once the agent acks, within {@linkcode LOGS_WAIT_MS}.
 *
 * @module
 */

import { Hono } from "hono";
import { MAX_LOG_LINES } from "../../shared/protocol.ts";
import { checkSite } from "../auth/access.ts";
import type { CollectorEnv } from "../auth/authenticate.ts";
import type { Clock } from "../clock.ts";
import { HttpError } from "../http/http_error.ts";
import type { LogRequests } from "../fleet/log_requests.ts";
import { queryInt, queryText } from "../http/request.ts";
import type { Store } from "../store/store.ts";

/** How long a request waits for the agent's answer before a 504. */
export const LOGS_WAIT_MS = 10_000;

/** A `logs` command the agent has not fetched by then is dropped. */
const LOGS_TTL_MS = 15_000;

const CURSOR = /^\S{0,100}#\d{1,7}$/;

/** The answer of the logs route. */
export interface LogsAnswer {
  site: string;
  host: string;
  script: string;
  lines: { at: string | null; stream: "stdout" | "stderr" | "other"; text: string }[];
  /** Pass it as `after` for the lines written since. */
  cursor: string;
  /** Lines between `after` and the first line were left out. */
  truncated: boolean;
}

/** What {@linkcode fetchLogs} needs. */
export interface LogsDeps {
  store: Store;
  clock: Clock;
  logRequests: LogRequests;
  /** Default {@linkcode LOGS_WAIT_MS}. */
  waitMs?: number;
}

/**
 * Asks agent `site/host` for lines of `script`'s log and waits for them.
 *
 * @throws {HttpError} 404 unknown agent or script, 409 agent offline or too
 * old, 503 too many requests waiting, 504 no answer in time, 502 the agent
 * could not read the log.
 */
export async function fetchLogs(
  deps: LogsDeps,
  request: {
    site: string;
    host: string;
    script: string;
    lines: number;
    after?: string;
    requestedBy: string;
    signal?: AbortSignal;
  },
): Promise<LogsAnswer> {
  const { store, clock, logRequests } = deps;
  const { site, host, script } = request;
  const agent = await store.getAgent(site, host);
  if (agent === null) throw new HttpError(404, `No agent ${site}/${host} has reported`);
  const scripts = await store.getScripts(site, host) ?? [];
  if (!scripts.some((s) => s.name === script)) {
    throw new HttpError(404, `Agent ${site}/${host} has not reported a script "${script}"`);
  }
  if (!agent.online) {
    throw new HttpError(
      409,
      `Agent ${site}/${host} is offline (last seen ${agent.lastSeenAt}): its log cannot be read now`,
    );
  }
  if (!logRequests.canServe(site, host)) {
    throw new HttpError(
      409,
      `Agent ${site}/${host} has not said that it answers log requests: ` +
        `it runs an older version, or has not reported since the collector started`,
    );
  }
  if (!logRequests.hasRoom()) {
    throw new HttpError(503, "Too many log requests are waiting; retry in a few seconds", {
      headers: { "Retry-After": "2" },
    });
  }
  const command = await store.commands.queue({
    site,
    host,
    action: "logs",
    script,
    params: {
      lines: request.lines,
      ...(request.after === undefined ? {} : { after: request.after }),
    },
    requestedBy: request.requestedBy,
    ttlMs: LOGS_TTL_MS,
    now: clock.now(),
  });
  const waitMs = deps.waitMs ?? LOGS_WAIT_MS;
  const outcome = await logRequests.wait(command.id, waitMs, request.signal, { site, host });
  if (outcome.kind === "timeout") {
    throw new HttpError(
      504,
      `Agent ${site}/${host} did not answer the log request within ${waitMs / 1000} s`,
    );
  }
  if (outcome.kind === "closed") {
    throw new HttpError(503, "The log request ended before the agent answered");
  }
  if (!outcome.ok || outcome.logs === null) {
    const status = /no script named/.test(outcome.message) ? 404 : 502;
    throw new HttpError(status, `Agent ${site}/${host}: ${outcome.message}`);
  }
  return { site, host, script, ...outcome.logs };
}

/** The logs route, to mount at `/api/v1`. */
export function logRoutes(deps: LogsDeps): Hono<CollectorEnv> {
  const app = new Hono<CollectorEnv>();
  app.get("/agents/:site/:host/scripts/:name/logs", async (c) => {
    const { site, host, name } = c.req.param();
    checkSite(c, site);
    const lines = queryInt(c, "lines", { min: 1, max: MAX_LOG_LINES, fallback: 200 });
    const after = queryText(c, "after");
    if (after !== undefined && !CURSOR.test(after)) {
      throw new HttpError(
        400,
        `after: expected the cursor of an earlier answer, got ${JSON.stringify(after)}`,
      );
    }
    const answer = await fetchLogs(deps, {
      site,
      host,
      script: name,
      lines,
      ...(after === undefined ? {} : { after }),
      requestedBy: requester(c.var),
      signal: c.req.raw.signal,
    });
    return c.json(answer, 200, { "Cache-Control": "no-store" });
  });
  return app;
}

/** Who asks, as commands record it. */
export function requester(vars: Partial<CollectorEnv["Variables"]>): string {
  const actor = Reflect.get(vars, "actor");
  if (typeof actor === "string" && actor !== "") return actor;
  return `api-token:${vars.token?.name ?? "unknown"}`;
}
