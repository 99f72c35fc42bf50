/**
 * The web pages' routes: sign-in and sign-out, the fleet page, its live
 * stream (`GET /live/fleet`, Server-Sent Events) and the static assets.
 * Authentication, CSRF and roles are `auth.ts`'s; every route here reads
 * the signed-in user and shows only their sites.
 *
 * @module
 */
import type { UptimeCache } from "../fleet/uptime_cache.ts";
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { compress } from "hono/compress";
import { streamSSE } from "hono/streaming";
import { getLogger } from "@logtape/logtape";
import {
  checkSameOrigin,
  type CollectorEnv,
  SESSION_COOKIE,
  signedIn,
  WALL_COOKIE,
} from "../auth/authenticate.ts";
import { remoteAddress } from "../audit/http.ts";
import type { Clock } from "../clock.ts";
import { type Lockout, lockoutMessage, SignInLimiter } from "../auth/signin_limit.ts";
import { HttpError } from "../http/http_error.ts";
import type { Sessions } from "../auth/sessions.ts";
import type { Store } from "../store/store.ts";
import type { AgentScripts, AgentTokens } from "../store/types.ts";
import { canSeeSite, type Users } from "../auth/users.ts";
import { queryEnum, queryText, readForm } from "../http/request.ts";
import { canControl } from "./controls.tsx";
import {
  renderFleetPage,
  renderWorkstation,
  STATE_FILTERS,
  type WorkstationView,
} from "./fleet_page.tsx";
import type { FleetLive } from "./live.ts";
import { renderLoginPage, safeNext, SIGN_IN_FAILED } from "./login_page.tsx";
import { StaticFiles } from "./static.ts";
import { renderWallPage } from "./wall_page.tsx";
import { agentConfigRows, agentStanding } from "./config_page.tsx";
import type { CentralConfig } from "../central/mod.ts";

const log = getLogger(["scriptmon", "collector", "web"]);

/** How often the live stream sends a keep-alive comment and re-checks the session. */
export const KEEPALIVE_MS = 15_000;
/** A live client more than this many changes behind is told to reload. */
const MAX_QUEUED = 1000;

/** What {@linkcode webRoutes} needs. */
export interface WebDeps {
  store: Store;
  clock: Clock;
  users: Users;
  sessions: Sessions;
  live: FleetLive;
  /** Mark the session cookie `Secure` (the collector serves HTTPS). */
  secureCookie: boolean;
  /** Central config: the fleet page names workstations not on their version. */
  central?: CentralConfig;
  /** Default {@linkcode KEEPALIVE_MS}. */
  keepAliveMs?: number;
  /** Live streams one user may hold at once; default {@linkcode MAX_STREAMS_PER_USER}. */
  maxStreamsPerUser?: number;
  /** Sign-in lockouts; default the default limits over the store's KV. */
  signInLimiter?: SignInLimiter;
  /** Each script's last 24 hours for the tiles (uptime, restarts, strip); absent: not shown. */
  uptime?: UptimeCache;
}

/** At most this many live streams (pages) per user at once. */
export const MAX_STREAMS_PER_USER = 8;

/** The fleet as workstations, only of sites `user` may see. */
export function workstationsFor(
  fleet: readonly AgentScripts[],
  user: { sites: string[] | null },
  tokens: readonly AgentTokens[] = [],
): WorkstationView[] {
  const tokensOf = new Map(tokens.map((t) => [`${t.site}/${t.host}`, t.tokens]));
  return fleet.filter(({ agent }) => canSeeSite(user, agent.site)).map(({ agent, scripts }) => ({
    site: agent.site,
    host: agent.host,
    ...(agent.environment === undefined ? {} : { environment: agent.environment }),
    os: agent.os,
    version: agent.version,
    online: agent.online,
    scripts,
    tokens: tokensOf.get(`${agent.site}/${agent.host}`) ?? [],
  }));
}

/** The web routes, to mount at `/`. */
export function webRoutes(deps: WebDeps): Hono<CollectorEnv> {
  const { store, clock, users, sessions, live } = deps;
  const recent = deps.uptime === undefined
    ? undefined
    : (site: string, host: string, script: string) => deps.uptime!.recent(site, host, script);
  /** Open live streams per user name. */
  const streamsOf = new Map<string, number>();
  const limiter = deps.signInLimiter ?? new SignInLimiter(store.kv);
  const keepAliveMs = deps.keepAliveMs ?? KEEPALIVE_MS;
  const maxStreamsPerUser = deps.maxStreamsPerUser ?? MAX_STREAMS_PER_USER;
  const files = new StaticFiles();
  const app = new Hono<CollectorEnv>();

  app.get("/login", (c) => c.html(renderLoginPage({ next: safeNext(c.req.query("next")) })));

  app.post("/login", async (c) => {
    checkSameOrigin(c);
    const type = c.req.header("content-type") ?? "";
    if (
      !type.startsWith("application/x-www-form-urlencoded") &&
      !type.startsWith("multipart/form-data")
    ) {
      throw new HttpError(400, `body: expected a form (username, password), got "${type}"`);
    }
    const form = await readForm(c);
    const field = (name: string) => typeof form[name] === "string" ? form[name] as string : "";
    const username = field("username").slice(0, 100);
    const password = field("password");
    const next = safeNext(field("next"));
    const address = remoteAddress(c);
    const refuse = (lockout: Lockout) => {
      log.info("Sign-in refused for {username} from {address}: locked ({scope})", {
        username,
        address,
        scope: lockout.scope,
      });
      return c.html(
        renderLoginPage({ next, error: lockoutMessage(lockout), username }),
        429,
        { "Retry-After": String(Math.ceil(lockout.retryAfterMs / 1000)) },
      );
    };
    const lockout = await limiter.attempt(username, address, clock.now());
    // Locked: the password is not even checked (so its hash costs nothing, and tells nothing).
    if (lockout !== null) return refuse(lockout);
    const user = password.length > 0 && password.length <= 1000
      ? await users.verify(username, password)
      : null;
    if (user === null) {
      log.info("Sign-in failed for {username}", { username });
      const locks = await limiter.failed(username, address, clock.now());
      if (locks !== null) return refuse(locks);
      return c.html(renderLoginPage({ next, error: SIGN_IN_FAILED, username }), 401);
    }
    await limiter.succeeded(user.name, address);
    const { id } = await sessions.create(user.name, clock.now());
    setCookie(c, SESSION_COOKIE, id, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      secure: deps.secureCookie,
      maxAge: Math.floor(sessions.maxAgeMs / 1000),
    });
    log.info("User {user} signed in", { user: user.name });
    return c.redirect(next, 303);
  });

  app.post("/logout", async (c) => {
    const user = signedIn(c);
    await sessions.revoke(user.sessionHash);
    deleteCookie(c, SESSION_COOKIE, { path: "/", secure: deps.secureCookie });
    log.info("User {user} signed out", { user: user.name });
    return c.redirect("/login", 303);
  });

  // The wall screen: authenticated by its wall token (`authenticate.ts`), never by a session.
  app.get("/wall", compress(), async (c) => {
    const key = c.req.query("key");
    if (key !== undefined) {
      // Kept in a cookie for the screen's life, so that the token leaves the address bar.
      setCookie(c, WALL_COOKIE, key, {
        httpOnly: true,
        sameSite: "Strict",
        path: "/wall",
        secure: deps.secureCookie,
        maxAge: 400 * 86_400,
      });
      return c.redirect("/wall", 303);
    }
    const principal = c.get("principal")!;
    const fleet = await store.listScripts();
    return c.html(renderWallPage({
      workstations: workstationsFor(fleet, principal),
      name: principal.name,
      now: clock.now(),
    }));
  });

  // 10,000 tiles are some 4 MB of HTML and about 40 times less gzipped.
  app.get("/", compress(), async (c) => {
    const user = signedIn(c);
    const site = queryText(c, "site");
    const state = queryEnum(c, "state", STATE_FILTERS.map((f) => f.value), "");
    const q = queryText(c, "q");
    if (q !== undefined && q.length > 100) {
      throw new HttpError(400, `q: expected at most 100 characters, got ${q.length}`);
    }
    const [fleet, tokens, configRows] = await Promise.all([
      store.listScripts(),
      store.agentTokens(),
      deps.central === undefined ? [] : agentConfigRows(store, deps.central),
    ]);
    const workstations = workstationsFor(fleet, user, tokens);
    const configBehind = configRows.filter((row) =>
      canSeeSite(user, row.site) && ["behind", "refused"].includes(agentStanding(row))
    );
    return c.html(renderFleetPage({
      workstations,
      user,
      configBehind,
      now: clock.now(),
      ...(recent === undefined ? {} : { recent }),
      filter: {
        ...(site === undefined ? {} : { site }),
        ...(state === "" ? {} : { state }),
        ...(q === undefined ? {} : { q }),
      },
    }));
  });

  // One rendering per change and kind of viewer, however many clients watch.
  const rendered = new WeakMap<WorkstationView, Map<boolean, string>>();
  const render = (ws: WorkstationView, control: boolean) => {
    let byKind = rendered.get(ws);
    if (byKind === undefined) rendered.set(ws, byKind = new Map());
    let html = byKind.get(control);
    if (html === undefined) {
      html = renderWorkstation(ws, { control, now: clock.now(), ...(recent ? { recent } : {}) });
      byKind.set(control, html);
    }
    return html;
  };

  app.get("/live/fleet", (c) => {
    const user = signedIn(c);
    const cookie = getCookie(c, SESSION_COOKIE) ?? "";
    const control = canControl(user);
    const queue: WorkstationView[] = [];
    let overflow = false;
    let wake: (() => void) | null = null;
    // One person cannot take every slot of the collector's streams.
    const open = streamsOf.get(user.name) ?? 0;
    if (open >= maxStreamsPerUser) {
      throw new HttpError(
        429,
        `${user.name} has ${open} live pages open already (at most ${maxStreamsPerUser}); close one`,
        { headers: { "Retry-After": "10" } },
      );
    }
    const subscription = live.subscribe(user.sites, (ws) => {
      if (queue.length < MAX_QUEUED) queue.push(ws);
      else overflow = true;
      wake?.();
    });
    if (subscription === null) {
      throw new HttpError(503, `Too many live clients (${live.maxClients}); retry in a moment`, {
        headers: { "Retry-After": "10" },
      });
    }
    streamsOf.set(user.name, open + 1);
    let subscribed = true;
    const unsubscribe = () => {
      if (!subscribed) return;
      subscribed = false;
      subscription();
      const left = (streamsOf.get(user.name) ?? 1) - 1;
      if (left > 0) streamsOf.set(user.name, left);
      else streamsOf.delete(user.name);
    };
    return streamSSE(c, async (stream) => {
      let closed = false;
      stream.onAbort(() => {
        closed = true;
        wake?.();
      });
      // The session and user are checked again this often, however busy the fleet is:
      // a revoked session, a removed user or an expired one ends the stream.
      let checkedAt = performance.now();
      // The user's scope as stored (their session's sites are narrowed to their environments').
      const scopeOf = (record: { sites: string[] | null; environments?: string[] | null }) =>
        JSON.stringify([record.sites, record.environments ?? null]);
      const started = await users.get(user.name);
      const stillSignedIn = async () => {
        if (performance.now() - checkedAt < keepAliveMs) return true;
        checkedAt = performance.now();
        const session = await sessions.get(cookie, clock.now());
        const current = session === null ? null : await users.get(user.name);
        // Signed out, removed, or changed (role, sites): the page reloads with what is true now.
        return current !== null && started !== null && current.role === user.role &&
          scopeOf(current) === scopeOf(started);
      };
      try {
        await stream.writeSSE({ event: "hello", data: JSON.stringify({ user: user.name }) });
        while (!closed) {
          if (!(await stillSignedIn())) {
            await stream.writeSSE({ event: "signedout", data: "{}" });
            break;
          }
          if (overflow) {
            await stream.writeSSE({ event: "reload", data: "{}" });
            break;
          }
          const ws = queue.shift();
          if (ws !== undefined) {
            const key = `${ws.site}/${ws.host}`;
            await stream.writeSSE({
              event: "ws",
              data: JSON.stringify({ key, site: ws.site, html: render(ws, control) }),
            });
            continue;
          }
          const timedOut = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(true), keepAliveMs);
            wake = () => {
              clearTimeout(timer);
              resolve(false);
            };
          });
          wake = null;
          if (!timedOut || closed) continue;
          await stream.write(": keep-alive\n\n");
        }
      } finally {
        unsubscribe();
      }
    }, (error) => {
      unsubscribe();
      log.debug("Live stream of {user} ended: {error}", { user: user.name, error });
      return Promise.resolve();
    });
  });

  app.get("/static/:name", async (c) => {
    const file = await files.get(c.req.param("name"));
    if (file === null) throw new HttpError(404, `No static file "${c.req.param("name")}"`);
    return c.body(file.body as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": file.type,
      "Cache-Control": "no-cache",
    });
  });

  return app;
}
