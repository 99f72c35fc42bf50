/**
 * A collector built as `serve.ts` builds it (alerting, audit trail), two
 * agents that reported (BFI4/ws-01 and SEA8/ws-02), and one principal per
 * role, each as a signed-in user and as an API token, for the access tests.
 */
import { CollectorAlerts } from "../collector/fleet/mod.ts";
import { createApp } from "../collector/mod.ts";
import { AuditLog } from "../collector/audit/mod.ts";
import { parseConfig } from "../collector/config/mod.ts";
import type { SignInLimits } from "../collector/auth/mod.ts";
import { Store } from "../collector/store/mod.ts";
import type { Role } from "../collector/auth/mod.ts";
import { Users } from "../collector/auth/mod.ts";
import { ingestRequest } from "../collector/_testing.ts";
import { CentralConfig, CentralStore } from "../collector/central/mod.ts";
import { checkConfigLayers } from "../shared/agent_config/mod.ts";
import { generateKey, parseKey } from "../shared/config/mod.ts";

/** The site, host and script every per-site path names. */
export const SITE = "BFI4";
export const HOST = "ws-01";
export const SCRIPT = "rates";
/** The other site ("wrong site" principals see only it). */
export const OTHER = "SEA8";

/** The principals of the role table. */
export const PRINCIPALS = ["none", "agent", "viewer", "operator", "admin", "wrong"] as const;
/** One of {@linkcode PRINCIPALS}: `wrong` is an admin scoped to {@linkcode OTHER}. */
export type PrincipalName = typeof PRINCIPALS[number];

/** How a principal authenticates. */
export type Credential = "cookie" | "token";

/** What the access tests get. */
export interface AccessFixture {
  app: ReturnType<typeof createApp>;
  store: Store;
  alerts: CollectorAlerts;
  audit: AuditLog;
  /** Headers of a request by `who` (cookie or bearer; CSRF and origin for changes). */
  headers(who: PrincipalName, via: Credential, method: string): Record<string, string>;
  /** A request by `who`. */
  request(who: PrincipalName, via: Credential, path: string, init?: RequestInit): Promise<Response>;
  /** The fake clock. */
  now(): number;
  /** Moves the fake clock. */
  setNow(ms: number): void;
}

const ROLE_OF: Record<"viewer" | "operator" | "admin" | "wrong", Role> = {
  viewer: "viewer",
  operator: "operator",
  admin: "admin",
  wrong: "admin",
};

/** Runs `fn` with a fresh in-memory collector (see the module doc). */
export async function withAccess(
  fn: (f: AccessFixture) => Promise<void>,
  options: { signInLimits?: Partial<SignInLimits> } = {},
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  let t = Date.now();
  const clock = { now: () => t };
  const config = parseConfig(
    `[webhooks.ops]\nkind = "slack"\nurl = "http://127.0.0.1:9/ops"\n`,
    { path: "/tmp/collector.toml", vars: {} },
  );
  const store = new Store(kv);
  const alerts = new CollectorAlerts({ kv, store, config, clock });
  const audit = new AuditLog(kv, { now: clock.now });
  await alerts.start();
  const central = new CentralConfig({
    store: new CentralStore(kv),
    key: parseKey(generateKey(), "test"),
    clock,
    check: (layers) => checkConfigLayers(layers),
  });
  const app = createApp({
    store,
    config,
    clock,
    central,
    alerts,
    control: alerts,
    audit,
    keepAliveMs: 50,
    ...(options.signInLimits === undefined ? {} : { signInLimits: options.signInLimits }),
  });
  try {
    const agentToken =
      (await store.createToken({ kind: "agent", name: "ws-01", site: SITE, now: t }))
        .token;
    for (const [site, host, token] of [[SITE, HOST, agentToken], [OTHER, "ws-02", null]] as const) {
      const bearer = token ??
        (await store.createToken({ kind: "agent", name: host, site, now: t })).token;
      const res = await app.request("/api/v1/ingest", {
        method: "POST",
        headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
        body: JSON.stringify(ingestRequest({ site, host })),
      });
      if (res.status !== 200) throw new Error(`ingest of ${site}/${host}: ${await res.text()}`);
    }
    const users = new Users(kv);
    const cookies = new Map<string, { cookie: string; csrf: string }>();
    const tokens = new Map<string, string>();
    for (const [who, role] of Object.entries(ROLE_OF)) {
      const sites = who === "wrong" ? [OTHER] : null;
      await users.add({ name: who, role, sites, password: `pw-${who}`, now: t });
      const res = await app.request("/login", {
        method: "POST",
        body: new URLSearchParams({ username: who, password: `pw-${who}` }),
      });
      await res.body?.cancel();
      const cookie = res.headers.get("set-cookie")!.split(";")[0];
      const page = await (await app.request("/", { headers: { cookie } })).text();
      const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(page)![1];
      cookies.set(who, { cookie, csrf });
      tokens.set(
        who,
        (await store.createToken({ kind: "api", name: `t-${who}`, role, sites, now: t })).token,
      );
    }
    const headers = (who: PrincipalName, via: Credential, method: string) => {
      if (who === "none") return {} as Record<string, string>;
      if (who === "agent") return { authorization: `Bearer ${agentToken}` };
      if (via === "token") return { authorization: `Bearer ${tokens.get(who)}` };
      const { cookie, csrf } = cookies.get(who)!;
      return method === "GET" ? { cookie } : {
        cookie,
        "x-csrf-token": csrf,
        "sec-fetch-site": "same-origin",
        origin: "http://localhost",
      };
    };
    await fn({
      app,
      store,
      alerts,
      audit,
      headers,
      now: clock.now,
      setNow: (ms) => t = ms,
      request: async (who, via, path, init = {}) =>
        await app.request(path, {
          ...init,
          headers: { ...headers(who, via, init.method ?? "GET"), ...init.headers },
        }),
    });
  } finally {
    await alerts.close();
    kv.close();
  }
}
