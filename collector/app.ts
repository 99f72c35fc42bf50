/**
 * The collector's Hono app: `/healthz`, the agent routes, the user REST
 * API and `/metrics` (API token or session), the web pages (session),
 * behind one authentication middleware (default deny; `auth.ts`), one body
 * limit per POST, the session guard (CSRF, roles), security headers on
 * every response, and one error boundary.
 *
 * @module
 */

import { Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { getLogger } from "@logtape/logtape";
import { MAX_INGEST_BYTES } from "../shared/protocol.ts";
import { accessGuard } from "./auth/access.ts";
import { authenticate, type CollectorEnv, isPagePath, sessionGuard } from "./auth/authenticate.ts";
import { AuditLog } from "./audit/trail.ts";
import { auditRequests } from "./audit/http.ts";
import { type Clock, systemClock } from "./clock.ts";
import { CommandWaiters } from "./fleet/command_waiters.ts";
import type { ResolvedCollectorConfig } from "./config/load.ts";
import { LogRequests } from "./fleet/log_requests.ts";
import { HttpError } from "./http/http_error.ts";
import { pathLimit } from "./http/path_limit.ts";
import {
  type AlertStats,
  IngestCounters,
  METRICS_CONTENT_TYPE,
  renderCollectorMetrics,
} from "./fleet/metrics.ts";
import { openApiDocument } from "./api/openapi.ts";
import { agentRoutes } from "./api/agent_routes.ts";
import { apiRoutes } from "./api/fleet_routes.ts";
import { auditRoutes } from "./api/audit_routes.ts";
import { type AlertControl, alertingRoutes } from "./api/alerting_routes.ts";
import { reportRoutes } from "./api/report_routes.ts";
import { exportRoutes } from "./api/export_routes.ts";
import { logRoutes } from "./api/log_routes.ts";
import { configRoutes } from "./api/config_routes.ts";
import type { CentralConfig } from "./central/mod.ts";
import { SiteEnvironments } from "./fleet/environments.ts";
import { Sessions } from "./auth/sessions.ts";
import { SignInLimiter, type SignInLimits } from "./auth/signin_limit.ts";
import type { Store } from "./store/store.ts";
import type { UptimeCache } from "./fleet/uptime_cache.ts";
import { Users } from "./auth/users.ts";
import { renderErrorPage, wantsHtml } from "./web/error_page.tsx";
import { FleetLive } from "./web/live.ts";
import type { StoreSignals } from "./store/signals.ts";
import { auditPageRoutes } from "./web/audit_page.tsx";
import { configPageRoutes } from "./web/config_page.tsx";
import { pageRoutes, pagesAlerting } from "./web/pages.ts";
import { webRoutes } from "./web/routes.ts";
import { FAVICON_SVG } from "./web/layout.tsx";
import { securityHeaders } from "./web/security_headers.ts";

const log = getLogger(["scriptmon", "collector", "http"]);

/** Body limit of every POST but ingest. */
export const MAX_BODY_BYTES = 64 * 1024;

/** With replicas, a waiting long-poll re-reads its agent's commands this often. */
const RECHECK_COMMANDS_MS = 5_000;

/**
 * Wakes this collector's long-polls for commands queued through another, and passes heartbeats
 * stored by another to this collector's live pages (re-read from the store).
 */
function followOtherCollectors(
  store: Store,
  signals: StoreSignals,
  waiters: CommandWaiters,
  live: FleetLive,
): void {
  const split = (key: string) => {
    const at = key.indexOf("/");
    return { site: key.slice(0, at), host: key.slice(at + 1) };
  };
  const refresh = async (key: string) => {
    const { site, host } = split(key);
    const [agent, scripts, tokens] = await Promise.all([
      store.getAgent(site, host),
      store.getScripts(site, host),
      store.agentTokens({ site }),
    ]);
    if (agent === null) return;
    const own = tokens.find((t) => t.host === host)?.tokens;
    live.reported({
      site,
      host,
      os: agent.os,
      version: agent.version,
      online: agent.online,
      scripts: scripts ?? [],
      ...(own === undefined ? {} : { tokens: own }),
    });
  };
  const failed = (error: unknown) =>
    log.error("Cannot follow the other collectors: {error}", { error });
  signals.subscribe("commands", (key) => waiters.wake(key)).catch(failed);
  signals.subscribe("live", (key) => {
    if (live.clients > 0) refresh(key).catch(failed);
  }).catch(failed);
}

/** What {@linkcode createApp} needs. */
export interface AppDeps {
  store: Store;
  config: ResolvedCollectorConfig;
  clock?: Clock;
  /** The long-poll waiters; default one sized by `config.maxWaiters`. */
  waiters?: CommandWaiters;
  /** Ingest counters `/metrics` shows; default a fresh one. */
  counters?: IngestCounters;
  /** Alerts firing and outbox depth for `/metrics`; left out of it when absent. */
  alerts?: AlertStats;
  /** The outbox and runtime rules behind `/notifications`, `/silences`, `/routes`; absent: no such routes. */
  control?: AlertControl;
  /** Every script's 24-hour uptime for `GET /api/v1/scripts`; absent: null there. */
  uptime?: UptimeCache;
  /** The audit trail every state-changing request goes on; default over the store's KV. */
  audit?: AuditLog;
  /** The config as last (re)loaded; default `config`. */
  currentConfig?: () => ResolvedCollectorConfig;
  /** Users who sign in to the pages; default over the store's KV. */
  users?: Users;
  /** Their sessions; default over the store's KV with the default timeouts. */
  sessions?: Sessions;
  /** The fleet page's live changes; default a fresh one. */
  live?: FleetLive;
  /** Hints to and from the other collectors sharing the store (replicas on PostgreSQL). */
  signals?: StoreSignals;
  /** How often the live streams send keep-alives (ms); default 15 s. */
  keepAliveMs?: number;
  /** Live streams one user may hold at once (default 8). */
  maxStreamsPerUser?: number;
  /** Log lines on their way from agents to viewers; default a fresh one. */
  logRequests?: LogRequests;
  /** Sign-in lockout limits; default `DEFAULT_SIGNIN_LIMITS` (`signin_limit.ts`). */
  signInLimits?: Partial<SignInLimits>;
  /** The fleet's central config; absent: no `/api/v1/config` routes, none handed to agents. */
  central?: CentralConfig;
  /** Each site's environment (from its agents' tokens); default one over the store. */
  environments?: SiteEnvironments;
}

/** The collector's HTTP app. Queued commands wake the agent's long-poll. */
export function createApp(deps: AppDeps): Hono<CollectorEnv> {
  const clock = deps.clock ?? systemClock;
  const waiters = deps.waiters ?? new CommandWaiters({ max: deps.config.maxWaiters });
  const counters = deps.counters ?? new IngestCounters();
  const logRequests = deps.logRequests ?? new LogRequests();
  const signals = deps.signals;
  deps.store.commands.onQueued((command) => {
    const key = `${command.site}/${command.host}`;
    waiters.wake(key);
    signals?.publish("commands", key);
  });
  const users = deps.users ?? new Users(deps.store.kv);
  const environments = deps.environments ?? new SiteEnvironments(deps.store, clock);
  const sessions = deps.sessions ?? new Sessions(deps.store.kv);
  const uptime = deps.uptime;
  const live = deps.live ??
    new FleetLive({
      offlineAfterMs: deps.config.offlineAfterMs,
      clock,
      ...(uptime === undefined
        ? {}
        : { recent: (site, host, name) => uptime.recent(site, host, name) }),
    });
  if (signals?.shared) followOtherCollectors(deps.store, signals, waiters, live);
  const app = new Hono<CollectorEnv>();
  app.use("*", securityHeaders());
  app.use("*", pathLimit());

  // Outside the auth, so that refused ingests are counted too.
  app.use("/api/v1/ingest", async (c, next) => {
    await next();
    let events = 0;
    const body = c.get("ingest");
    if (c.res.status === 200 && body !== undefined) {
      events = body.events.length;
      // Valid (it was stored): the page's live tiles follow the heartbeat.
      const { agent, scripts, tokens } = body;
      live.reported({
        site: agent.site,
        host: agent.host,
        os: agent.os,
        version: agent.version,
        online: true,
        scripts,
        ...(tokens === undefined ? {} : { tokens }),
      });
      signals?.publish("live", `${agent.site}/${agent.host}`);
    }
    counters.record({ status: c.res.status, events });
  });
  const audit = deps.audit ?? new AuditLog(deps.store.kv, { now: () => clock.now() });
  app.use("*", auditRequests(audit, { now: () => clock.now() }));
  app.use("*", authenticate({ store: deps.store, clock, users, sessions, environments }));
  const ingestLimit = limitBody(MAX_INGEST_BYTES), otherLimit = limitBody(MAX_BODY_BYTES);
  app.use("*", async (c, next) => {
    if (c.req.method !== "POST" && c.req.method !== "PUT" && c.req.method !== "PATCH") {
      return await next();
    }
    return await (c.req.path === "/api/v1/ingest" ? ingestLimit : otherLimit)(c, next);
  });
  app.use("*", sessionGuard());
  app.use("*", accessGuard());

  app.get("/healthz", (c) => c.json({ ok: true }));
  // Browsers and tools ask for it whatever the pages link to.
  app.get("/favicon.ico", (c) =>
    c.body(FAVICON_SVG, 200, {
      "Content-Type": "image/svg+xml",
      "Cache-Control": "max-age=86400",
    }));
  app.get("/metrics", async (c) => {
    const [fleet, outbox] = await Promise.all([
      deps.store.listScripts(),
      deps.alerts?.outboxCounts(),
    ]);
    const text = renderCollectorMetrics({
      counters,
      fleet,
      ...(deps.alerts === undefined ? {} : { outbox }),
      ...(deps.alerts?.firing() ? { firing: deps.alerts.firing()! } : {}),
    });
    return c.body(text, 200, { "Content-Type": METRICS_CONTENT_TYPE });
  });
  let openapi: ReturnType<typeof openApiDocument> | undefined;
  // Built once, on the first request: the route table does not change while the app runs.
  app.get("/api/v1/openapi.json", (c) => c.json(openapi ??= openApiDocument()));
  app.route(
    "/api/v1",
    agentRoutes({
      store: deps.store,
      clock,
      waiters,
      logRequests,
      audit,
      environments,
      ...(deps.central === undefined ? {} : { central: deps.central }),
      // With other collectors, a missed hint must not hold a command for a whole long-poll.
      ...(signals?.shared ? { recheckMs: RECHECK_COMMANDS_MS } : {}),
    }),
  );
  app.route("/api/v1", logRoutes({ store: deps.store, clock, logRequests }));
  app.route(
    "/api/v1",
    apiRoutes({
      store: deps.store,
      clock,
      commandTtlMs: deps.config.commandTtlMs,
      ...(deps.uptime === undefined ? {} : { uptime: deps.uptime }),
    }),
  );
  app.route(
    "/api/v1",
    reportRoutes({
      store: deps.store,
      clock,
      ...(deps.control === undefined ? {} : { outbox: deps.control.outbox }),
    }),
  );
  app.route("/api/v1", auditRoutes({ audit }));
  app.route("/api/v1", exportRoutes({ store: deps.store, clock }));
  if (deps.central !== undefined) {
    app.route("/api/v1", configRoutes({ central: deps.central, store: deps.store }));
  }
  if (deps.control !== undefined) {
    const config = deps.currentConfig ?? (() => deps.config);
    app.route("/api/v1", alertingRoutes({ control: deps.control, clock, config }));
  }

  // Before the web routes: their /static/:name answers 404 for the pages' files.
  const current = deps.currentConfig ?? (() => deps.config);
  app.route(
    "/",
    pageRoutes({
      store: deps.store,
      clock,
      ...(deps.control === undefined ? {} : {
        outbox: deps.control.outbox,
        alerting: pagesAlerting(deps.control, {
          silences: () => current().notify.silences,
          now: () => clock.now(),
        }),
      }),
    }),
  );
  app.route("/", auditPageRoutes({ audit }));
  if (deps.central !== undefined) {
    app.route("/", configPageRoutes({ store: deps.store, central: deps.central }));
  }
  app.route(
    "/",
    webRoutes({
      store: deps.store,
      clock,
      users,
      sessions,
      live,
      secureCookie: deps.config.tls !== undefined,
      signInLimiter: new SignInLimiter(deps.store.kv, deps.signInLimits ?? {}),
      ...(deps.uptime === undefined ? {} : { uptime: deps.uptime }),
      ...(deps.central === undefined ? {} : { central: deps.central }),
      ...(deps.keepAliveMs === undefined ? {} : { keepAliveMs: deps.keepAliveMs }),
      ...(deps.maxStreamsPerUser === undefined
        ? {}
        : { maxStreamsPerUser: deps.maxStreamsPerUser }),
    }),
  );

  app.notFound(() => {
    throw new HttpError(404, "No such route");
  });
  app.onError((error, c) => {
    const refused = error instanceof HttpError
      ? { status: error.status, message: error.message, headers: error.headers }
      : error instanceof HTTPException && error.status < 500
      ? { status: error.status, message: error.message || "Request refused", headers: {} }
      : null;
    if (refused !== null) {
      log.info("Refused {method} {path} with {status}: {message}", {
        method: c.req.method,
        path: c.req.path,
        status: refused.status,
        message: refused.message,
      });
      if (wantsHtml(c) && isPagePath(c.req.path)) {
        const page = renderErrorPage({ ...refused, user: c.get("user") ?? null });
        return c.html(page, refused.status, refused.headers);
      }
      return c.json({ error: refused.message }, refused.status, refused.headers);
    }
    log.error("{method} {path} failed: {error}", { method: c.req.method, path: c.req.path, error });
    return c.json({ error: "Internal error; see the collector log" }, 500);
  });
  return app;
}

/** Hono's body limit at `maxSize` bytes, refusing a larger body with a 413 naming the path. */
function limitBody(maxSize: number): MiddlewareHandler {
  return bodyLimit({
    maxSize,
    onError: (c) => {
      throw new HttpError(413, `Request body of ${c.req.path} may be at most ${maxSize} bytes`);
    },
  });
}
