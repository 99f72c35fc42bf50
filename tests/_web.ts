/**
 * The collector's app with users, for the web tests through `app.request()`:
 * sign in, keep the cookie and the page's CSRF token, ingest as an agent.
 */
import { UptimeCache } from "../collector/fleet/mod.ts";
import { createApp } from "../collector/mod.ts";
import { parseConfig } from "../collector/config/mod.ts";
import { Sessions } from "../collector/auth/mod.ts";
import { Store } from "../collector/store/mod.ts";
import type { Role } from "../collector/auth/mod.ts";
import { Users } from "../collector/auth/mod.ts";
import { FleetLive } from "../collector/web/mod.ts";
import { ingestRequest } from "../collector/_testing.ts";

/** A signed-in browser, as far as the server can tell. */
export interface Browser {
  cookie: string;
  csrf: string;
  /** A request with the session cookie (and any headers given). */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** A same-origin POST with the CSRF token, as app.js sends it. */
  post(path: string, init?: RequestInit): Promise<Response>;
}

/** What {@linkcode withWeb} hands the test. */
export interface WebFixture {
  app: ReturnType<typeof createApp>;
  store: Store;
  users: Users;
  sessions: Sessions;
  live: FleetLive;
  /** The fake clock's time; move it with `clock.now = ...`. */
  clock: { now: () => number; set(ms: number): void };
  /** Adds a user with password "pw-<name>". */
  addUser(name: string, role: Role, sites?: string[]): Promise<void>;
  /** Signs `name` in through `POST /login`. */
  signIn(name: string): Promise<Browser>;
  /** Ingests a heartbeat as agent `site`/`host` (a token per host, made on first use). */
  ingest(options: Parameters<typeof ingestRequest>[0]): Promise<Response>;
  /** The scripts' last 24 hours for the tiles; `refresh()` it after ingests. */
  uptime: UptimeCache;
}

/** The origin app.request() requests carry. */
export const ORIGIN = "http://localhost";

/** Runs `fn` with a fresh in-memory collector. */
export async function withWeb(
  fn: (f: WebFixture) => Promise<void>,
  options: {
    config?: string;
    idleMs?: number;
    maxAgeMs?: number;
    keepAliveMs?: number;
    maxStreamsPerUser?: number;
  } = {},
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  let time = Date.now();
  const clock = { now: () => time, set: (ms: number) => time = ms };
  try {
    const store = new Store(kv);
    const config = parseConfig(options.config ?? "", { path: "/tmp/collector.toml", vars: {} });
    const users = new Users(kv);
    const sessions = new Sessions(kv, {
      ...(options.idleMs === undefined ? {} : { idleMs: options.idleMs }),
      ...(options.maxAgeMs === undefined ? {} : { maxAgeMs: options.maxAgeMs }),
    });
    const uptime = new UptimeCache(store, clock);
    const live = new FleetLive({
      maxClients: 3,
      recent: (site, host, name) => uptime.recent(site, host, name),
    });
    const app = createApp({
      store,
      config,
      clock,
      uptime,
      users,
      sessions,
      live,
      keepAliveMs: options.keepAliveMs ?? 50,
      ...(options.maxStreamsPerUser === undefined
        ? {}
        : { maxStreamsPerUser: options.maxStreamsPerUser }),
    });
    const tokens = new Map<string, string>();
    await fn({
      app,
      uptime,
      store,
      users,
      sessions,
      live,
      clock,
      addUser: async (name, role, sites) => {
        await users.add({ name, role, sites: sites ?? null, password: `pw-${name}`, now: time });
      },
      signIn: async (name) => {
        const res = await app.request("/login", {
          method: "POST",
          body: new URLSearchParams({ username: name, password: `pw-${name}` }),
        });
        await res.body?.cancel();
        if (res.status !== 303) throw new Error(`sign-in of ${name}: ${res.status}`);
        const cookie = res.headers.get("set-cookie")!.split(";")[0];
        const page = await (await app.request("/", { headers: { cookie } })).text();
        const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(page)![1];
        const request = (path: string, init: RequestInit = {}) =>
          Promise.resolve(app.request(path, {
            ...init,
            headers: { cookie, ...init.headers },
          }));
        return {
          cookie,
          csrf,
          request,
          post: (path, init = {}) =>
            request(path, {
              method: "POST",
              ...init,
              headers: {
                "x-csrf-token": csrf,
                "sec-fetch-site": "same-origin",
                origin: ORIGIN,
                "content-type": "application/json",
                ...init.headers,
              },
              body: init.body ?? "{}",
            }),
        };
      },
      ingest: async (options) => {
        const body = ingestRequest(options);
        const key = `${body.agent.site}/${body.agent.host}`;
        let token = tokens.get(key);
        if (token === undefined) {
          token = (await store.createToken({
            kind: "agent",
            name: key.replace("/", "-"),
            site: body.agent.site,
            now: time,
          })).token;
          tokens.set(key, token);
        }
        return await app.request("/api/v1/ingest", {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      },
    });
  } finally {
    kv.close();
  }
}
