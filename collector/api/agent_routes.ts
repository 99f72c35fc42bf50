/**
 * The routes agents call with their agent token: `POST /api/v1/ingest`
 * (heartbeat, events, acks → ackedSeq and pending commands) and
 * `GET /api/v1/commands?wait=<ms>` (the commands long-poll), and the site
 * coordination: `POST /api/v1/leases/<script>` and `POST /api/v1/dedupe`.
 * The agent is the token's site and the host of `?host=`, else the host it
 * last ingested with.
 *
 * @module
 */

import { Hono } from "hono";
import { getLogger } from "@logtape/logtape";
import {
  AGENT_FEATURES_HEADER,
  type CentralConfigWire,
  COLLECTOR_FEATURES,
  COLLECTOR_FEATURES_HEADER,
  type Command,
  dedupeRequestSchema,
  type DedupeResponse,
  type IngestRequest,
  ingestRequestSchema,
  type IngestResponse,
  leaseRequestSchema,
} from "../../shared/protocol.ts";
import type { AuditLog } from "../audit/trail.ts";
import type { CentralConfig } from "../central/mod.ts";
import type { SiteEnvironments } from "../fleet/environments.ts";
import type { CollectorEnv } from "../auth/authenticate.ts";
import type { Clock } from "../clock.ts";
import type { CommandWaiters } from "../fleet/command_waiters.ts";
import { HttpError } from "../http/http_error.ts";
import { SiteLeases } from "../fleet/leases.ts";
import type { LogRequests } from "../fleet/log_requests.ts";
import { SiteDedupe } from "../fleet/site_dedupe.ts";
import { queryInt, queryText, readBody } from "../http/request.ts";
import { SeqGapError, type Store } from "../store/store.ts";
import type { CommandRecord, TokenRecord } from "../store/types.ts";

const log = getLogger(["scriptmon", "collector", "ingest"]);

/** What a script name in a lease path may be (the protocol's names). */
const SCRIPT_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** The longest long-poll the collector holds open. */
export const MAX_WAIT_MS = 25_000;

/** A command as the wire carries it (the protocol's strict shape). */
export function toWireCommand(command: CommandRecord): Command {
  return {
    id: command.id,
    action: command.action,
    ...(command.params === undefined ? {} : { params: command.params }),
    script: command.script,
    expiresAt: command.expiresAt,
    requestedBy: command.requestedBy,
  };
}

/** The agent routes, to mount at `/api/v1`. */
/** Resolves "recheck" after `ms` unless cancelled first. */
function recheckAfter(ms: number): { due: Promise<"recheck">; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const due = new Promise<"recheck">((resolve) => timer = setTimeout(() => resolve("recheck"), ms));
  return { due, cancel: () => clearTimeout(timer) };
}

/**
 * The central config version to hand agent `request.agent` with its answer: the one its
 * rollout says, unless the agent runs it already or refused it. Records what the agent said.
 */
async function centralConfigFor(
  central: CentralConfig,
  request: IngestRequest,
  environment: string | undefined,
): Promise<CentralConfigWire | undefined> {
  const { site, host } = request.agent;
  const agent = { site, host, ...(environment === undefined ? {} : { environment }) };
  const reported = request.config;
  if (reported !== undefined) await central.noteApplied(site, host, reported);
  // Made at another collector a moment ago: never hand an agent an older version than it runs.
  if (reported?.version != null) await central.knowVersion(reported.version);
  const desired = await central.desiredVersion(agent);
  if (desired === null || desired === reported?.version) return undefined;
  // Refused, or already there waiting for the agent's next reload: not sent again.
  if (reported?.refused?.version === desired || reported?.pending === desired) return undefined;
  try {
    return { version: desired, layers: await central.layersFor(agent, desired) };
  } catch (error) {
    // The key the documents were sealed with is not this collector's (replicas need one key).
    log.error("Cannot hand config v{version} to {site}/{host}: {error}", {
      version: desired,
      site,
      host,
      error,
    });
    return undefined;
  }
}

export function agentRoutes(
  deps: {
    store: Store;
    clock: Clock;
    waiters: CommandWaiters;
    logRequests?: LogRequests;
    /** Where command results go (not those of read-only `logs`). */
    audit?: AuditLog;
    /** A waiting long-poll re-reads the queue this often (replicas: a wake-up may be missed). */
    recheckMs?: number;
    /** Central config to hand out in ingest answers; absent: none. */
    central?: CentralConfig;
    /** Each site's environment: an agent of another may not report for a site. */
    environments?: SiteEnvironments;
  },
): Hono<CollectorEnv> {
  const { store, clock, waiters, logRequests } = deps;
  const app = new Hono<CollectorEnv>();
  app.use("*", async (c, next) => {
    await next();
    c.header(COLLECTOR_FEATURES_HEADER, COLLECTOR_FEATURES.join(","));
  });
  const leases = new SiteLeases(store.kv);
  const dedupe = new SiteDedupe(store.kv);

  app.post("/ingest", async (c) => {
    const token = c.get("token");
    const request = await readBody(c, ingestRequestSchema);
    c.set("ingest", request);
    const { site, host } = request.agent;
    if (site !== token.site) {
      throw new HttpError(
        403,
        `Agent token "${token.name}" is for site "${token.site}", not agent.site "${site}"`,
      );
    }
    await checkEnvironment(deps.environments, site, token);
    await bindHost(store, token, host);
    logRequests?.noteFeatures(site, host, c.req.header(AGENT_FEATURES_HEADER));
    const now = clock.now();
    // Log lines go to the request waiting for them, never into the store.
    const acks = logRequests?.take(request.acks, { site, host }) ?? request.acks;
    if (acks.length > 0) {
      for (const command of await store.commands.ack(site, host, acks)) {
        // A log viewer follows with a `logs` command every few seconds: those only at debug.
        log[command.action === "logs" ? "debug" : "info"](
          "Command {id} ({action} {script}) on {site}/{host} done: {ok} {message}",
          {
            id: command.id,
            action: command.action,
            script: command.script,
            site,
            host,
            ok: command.result?.ok,
            message: command.result?.message,
          },
        );
        if (command.action !== "logs") {
          // The ack is stored already: a trail that cannot take it is logged, the ingest goes on.
          await deps.audit?.append({
            actor: `agent-token:${token.name}`,
            action: `command.${command.action}.result`,
            target: `${site}/${host}/${command.script}`,
            result: command.result?.ok ? "ok" : "failed",
            detail: {
              id: command.id,
              requestedBy: command.requestedBy,
              message: command.result?.message ?? "",
            },
          }).catch((error) =>
            log.error("Cannot audit command {id}: {error}", { id: command.id, error })
          );
        }
      }
    }
    const result = await store.ingest(request, {
      now,
      tokenName: token.name,
      ...(token.environment === undefined ? {} : { environment: token.environment }),
    }).catch((error) => {
      if (error instanceof SeqGapError) throw new HttpError(400, error.message);
      throw error;
    });
    if (result.cameOnline) log.info("Agent {site}/{host} is online", { site, host });
    const commands = result.mayHaveCommands ? await store.commands.pending(site, host, now) : [];
    const body: IngestResponse = {
      ackedSeq: result.ackedSeq,
      commands: commands.map(toWireCommand),
      now: new Date(now).toISOString(),
    };
    const features = c.req.header(AGENT_FEATURES_HEADER) ?? "";
    if (deps.central !== undefined && /(^|,)\s*central-config\s*(,|$)/i.test(features)) {
      const config = await centralConfigFor(deps.central, request, token.environment);
      if (config !== undefined) body.config = config;
    }
    return c.json(body);
  });

  app.get("/commands", async (c) => {
    const token = c.get("token");
    const wait = Math.min(MAX_WAIT_MS, queryInt(c, "wait", { min: 0, max: 30_000, fallback: 0 }));
    const { site, host } = await agentOf(store, token, queryText(c, "host"), deps.environments);
    logRequests?.noteFeatures(site, host, c.req.header(AGENT_FEATURES_HEADER));
    const waiter = wait > 0 ? waiters.open(`${site}/${host}`, wait, c.req.raw.signal) : null;
    if (wait > 0 && waiter === null) {
      throw new HttpError(503, `Too many agents are waiting for commands; retry in a few seconds`, {
        headers: { "Retry-After": "5" },
      });
    }
    try {
      let commands = await store.commands.pending(site, host, clock.now());
      if (commands.length === 0 && waiter !== null) {
        const ends = clock.now() + wait;
        for (let round = 0; round < 100 && commands.length === 0; round++) {
          const tick = deps.recheckMs === undefined ? null : recheckAfter(deps.recheckMs);
          const outcome =
            await (tick === null ? waiter.outcome : Promise.race([waiter.outcome, tick.due]));
          tick?.cancel();
          if (outcome !== "woken" && outcome !== "recheck") {
            break;
          }
          commands = await store.commands.pending(site, host, clock.now());
          if (outcome === "woken" || clock.now() >= ends) {
            break;
          }
        }
      }
      return c.json({
        commands: commands.map(toWireCommand),
        now: new Date(clock.now()).toISOString(),
      });
    } finally {
      waiter?.close();
    }
  });

  app.post("/leases/:script", async (c) => {
    const script = c.req.param("script");
    if (!SCRIPT_NAME.test(script)) {
      throw new HttpError(
        400,
        `script: expected a name of letters, digits, "_", "." and "-", got ${
          JSON.stringify(script)
        }`,
      );
    }
    const request = await readBody(c, leaseRequestSchema);
    const { site, host } = await agentOf(
      store,
      c.get("token"),
      queryText(c, "host"),
      deps.environments,
    );
    const holder = `${site}/${host}`;
    if (request.replica !== undefined && request.replicas === undefined) {
      throw new HttpError(400, `replica: expected only with replicas, got ${request.replica}`);
    }
    const options = {
      site,
      script,
      holder,
      ttlMs: request.ttlMs,
      now: clock.now(),
      ...(request.replicas === undefined ? {} : { replicas: request.replicas }),
      ...(request.replica === undefined ? {} : { replica: request.replica }),
    };
    const answer = request.action === "acquire"
      ? await leases.acquire(options)
      : request.action === "renew"
      ? await leases.renew(options)
      : await leases.release(options);
    if (request.action !== "renew" || !answer.held) {
      log.debug("Lease {action} of {site}/{script} by {holder}: held by {current}", {
        action: request.action,
        site,
        script,
        holder,
        current: answer.holders === undefined
          ? answer.holder ?? "nobody"
          : answer.holders.map((h) => h ?? "nobody").join(", "),
      });
    }
    return c.json(answer);
  });

  app.post("/dedupe", async (c) => {
    const request = await readBody(c, dedupeRequestSchema);
    const { site, host } = await agentOf(
      store,
      c.get("token"),
      queryText(c, "host"),
      deps.environments,
    );
    const claimed = await dedupe.claim({
      site,
      key: request.key,
      windowMs: request.windowMs,
      by: `${site}/${host}`,
      now: clock.now(),
    });
    const body: DedupeResponse = { claimed };
    return c.json(body);
  });

  return app;
}

/**
 * The agent a request comes from: the token's site and its host. A token is
 * bound to the first host that uses it (ingest or `?host=`); any other host
 * is refused, so one workstation's token cannot speak for another.
 */
async function agentOf(
  store: Store,
  token: TokenRecord,
  host: string | undefined,
  environments?: SiteEnvironments,
): Promise<{ site: string; host: string }> {
  const name = host ?? token.host;
  if (name === null) {
    throw new HttpError(
      409,
      `Agent token "${token.name}" has not ingested yet: send one ingest first, or pass ?host=`,
    );
  }
  if (!SCRIPT_NAME.test(name)) {
    throw new HttpError(
      400,
      `host: expected a name of letters, digits, "_", "." and "-", got ${JSON.stringify(name)}`,
    );
  }
  await checkEnvironment(environments, token.site ?? "", token);
  await bindHost(store, token, name);
  return { site: token.site ?? "", host: name };
}

/** Refuses (403) an agent token of another environment than `site`'s. */
async function checkEnvironment(
  environments: SiteEnvironments | undefined,
  site: string,
  token: TokenRecord,
): Promise<void> {
  const other = await environments?.conflict(site, token.environment);
  if (other != null) {
    throw new HttpError(
      403,
      `Site "${site}" belongs to environment "${other}": agent token "${token.name}" is of ` +
        `"${token.environment}"`,
    );
  }
}

/** Binds `token` to `host` on first use; refuses (403) a token bound to another host. */
async function bindHost(store: Store, token: TokenRecord, host: string): Promise<void> {
  const bound = token.host ?? await store.setTokenHost(token, host);
  if (bound !== host) {
    throw new HttpError(
      403,
      `Agent token "${token.name}" belongs to host "${bound}", not "${host}"`,
    );
  }
}
