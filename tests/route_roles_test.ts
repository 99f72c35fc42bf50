/**
 * Walks the collector's whole route table (`app.routes` of an app built as
 * `serve.ts` builds it) with each principal — none, an agent token, a
 * viewer, an operator, an admin, and an admin of another site — as a
 * signed-in user and as an API token, and checks the status of every
 * route. A route missing from {@linkcode TABLE} fails the test by name.
 */
import assert from "node:assert/strict";
import { ingestRequest } from "../collector/_testing.ts";
import {
  type AccessFixture,
  type Credential,
  HOST,
  type PrincipalName,
  PRINCIPALS,
  SCRIPT,
  SITE,
  withAccess,
} from "./_access.ts";

/** Statuses for none, agent, viewer, operator, admin, wrong site, in that order. */
type Row = readonly [number, number, number, number, number, number];

interface Case {
  /** The request: its path (params filled) and body; made fresh for each principal. */
  request(f: AccessFixture): Promise<{ path: string; body?: BodyInit; type?: string }>;
  /** With the session cookie. */
  cookie: Row;
  /** With an API token (none and agent are the same as for `cookie`); default `cookie`. */
  token?: Row;
}

const SCRIPT_PATH = `/api/v1/agents/${SITE}/${HOST}/scripts/${SCRIPT}`;
const PAGE_PATH = `/scripts/${SITE}/${HOST}/${SCRIPT}`;
const json = (path: string, value: unknown) => () =>
  Promise.resolve({ path, body: JSON.stringify(value), type: "application/json" });
const get = (path: string) => () => Promise.resolve({ path });

const READ: Row = [401, 401, 200, 200, 200, 200];
const READ_SITE: Row = [401, 401, 200, 200, 200, 403];
const ADMIN_ONLY: Row = [401, 401, 403, 403, 200, 403];
/** For admins only; an admin gets `status` (the access checks passed). */
const ADMIN_ONLY_PAST = (status: number): Row => [401, 401, 403, 403, status, 403];
const PAGE: Row = [303, 401, 200, 200, 200, 200];
/** A page by API token: the role and site checks pass, then the page needs a signed-in user. */
const PAGE_BY_TOKEN: Row = [303, 401, 401, 401, 401, 401];
const AGENT_ONLY = (ok: number): Row => [401, ok, 401, 401, 401, 401];

/** Every route of the app: `METHOD path` as Hono lists it. */
const TABLE: Record<string, Case> = {
  "GET /healthz": { request: get("/healthz"), cookie: [200, 200, 200, 200, 200, 200] },
  "GET /favicon.ico": { request: get("/favicon.ico"), cookie: [200, 200, 200, 200, 200, 200] },
  // Only a wall token opens it (tests/web_wall_test.ts): no session, API or agent token does.
  "GET /wall": { request: get("/wall"), cookie: [401, 401, 401, 401, 401, 401] },
  "GET /metrics": { request: get("/metrics"), cookie: [401, 401, 200, 200, 200, 403] },
  "GET /api/v1/openapi.json": { request: get("/api/v1/openapi.json"), cookie: READ },
  "POST /api/v1/ingest": {
    request: json("/api/v1/ingest", ingestRequest({ site: SITE, host: HOST })),
    cookie: AGENT_ONLY(200),
  },
  "GET /api/v1/commands": { request: get("/api/v1/commands"), cookie: AGENT_ONLY(200) },
  "POST /api/v1/leases/:script": {
    request: json(`/api/v1/leases/${SCRIPT}`, { action: "acquire", ttlMs: 60_000 }),
    cookie: AGENT_ONLY(200),
  },
  "POST /api/v1/dedupe": {
    request: json("/api/v1/dedupe", { key: "post-1", windowMs: 60_000 }),
    cookie: AGENT_ONLY(200),
  },
  // 409: the access checks passed; the agent has not said it serves log requests.
  "GET /api/v1/agents/:site/:host/scripts/:name/logs": {
    request: get(`${SCRIPT_PATH}/logs`),
    cookie: [401, 401, 409, 409, 409, 403],
  },
  "GET /api/v1/sites": { request: get("/api/v1/sites"), cookie: READ },
  "GET /api/v1/agents": { request: get("/api/v1/agents"), cookie: READ },
  "GET /api/v1/scripts": { request: get("/api/v1/scripts"), cookie: READ },
  "GET /api/v1/events": { request: get("/api/v1/events"), cookie: READ },
  "POST /api/v1/agents/:site/:host/scripts/:name/:action": {
    request: json(`${SCRIPT_PATH}/restart`, {}),
    cookie: [401, 401, 403, 202, 202, 403],
  },
  "GET /api/v1/alerts": { request: get("/api/v1/alerts"), cookie: READ },
  "POST /api/v1/alerts/:id/ack": {
    request: async (f) => ({ path: `/api/v1/alerts/${await openAlert(f)}/ack`, body: "{}" }),
    cookie: [401, 401, 403, 200, 200, 403],
  },
  "GET /api/v1/agents/:site/:host/commands/:id": {
    request: async (f) => ({
      path: `/api/v1/agents/${SITE}/${HOST}/commands/${await queueCommand(f)}`,
    }),
    cookie: READ_SITE,
  },
  "GET /api/v1/reports/uptime": { request: get("/api/v1/reports/uptime"), cookie: READ },
  "GET /api/v1/reports/digest": {
    request: get(`/api/v1/reports/digest?site=${SITE}`),
    cookie: READ_SITE,
  },
  "GET /api/v1/agents/:site/:host/scripts/:name/history": {
    request: get(`${SCRIPT_PATH}/history`),
    cookie: READ_SITE,
  },
  "GET /api/v1/tokens": { request: get("/api/v1/tokens"), cookie: READ },
  // config_changes, the fleet-wide dataset, is for admins of every site (export_routes_test.ts).
  "GET /api/v1/export/:dataset": { request: get("/api/v1/export/incidents"), cookie: READ },
  "GET /api/v1/audit": { request: get("/api/v1/audit"), cookie: ADMIN_ONLY },
  // Central config is for admins of every site; 404s and 409s say the access checks passed.
  "GET /api/v1/config": { request: get("/api/v1/config"), cookie: ADMIN_ONLY },
  "GET /api/v1/config/versions": { request: get("/api/v1/config/versions"), cookie: ADMIN_ONLY },
  "GET /api/v1/config/versions/:n": {
    request: get("/api/v1/config/versions/999"),
    cookie: ADMIN_ONLY_PAST(404),
  },
  "GET /api/v1/config/diff": { request: get("/api/v1/config/diff"), cookie: ADMIN_ONLY },
  "GET /api/v1/config/documents/:scope": {
    request: get("/api/v1/config/documents/agent:BFI4%2Fnone"),
    cookie: ADMIN_ONLY_PAST(404),
  },
  "PUT /api/v1/config/documents/:scope": {
    request: () =>
      json("/api/v1/config/documents/site:BFI4", {
        text: `# ${crypto.randomUUID()}\n[scripts.a]\ncommand = "a"\n`,
        why: "roles",
      })(),
    cookie: ADMIN_ONLY_PAST(201),
  },
  "DELETE /api/v1/config/documents/:scope": {
    request: json("/api/v1/config/documents/agent:BFI4%2Fnone", { why: "roles" }),
    cookie: ADMIN_ONLY_PAST(404),
  },
  "POST /api/v1/config/check": {
    request: json("/api/v1/config/check", { scope: "fleet", text: "" }),
    cookie: ADMIN_ONLY,
  },
  "POST /api/v1/config/rollback": {
    request: json("/api/v1/config/rollback", { to: 999, why: "roles" }),
    cookie: ADMIN_ONLY_PAST(404),
  },
  "POST /api/v1/config/versions/:n/rollout": {
    request: json("/api/v1/config/versions/999/rollout", { to: "fleet" }),
    cookie: ADMIN_ONLY_PAST(404),
  },
  "GET /api/v1/config/webhooks": { request: get("/api/v1/config/webhooks"), cookie: ADMIN_ONLY },
  "PUT /api/v1/config/webhooks/:scope/:name": {
    request: () =>
      json("/api/v1/config/webhooks/site:BFI4/ops", {
        url: `https://hooks.example/${crypto.randomUUID()}`,
        kind: "slack",
        why: "roles",
      })(),
    cookie: ADMIN_ONLY_PAST(201),
  },
  "POST /api/v1/config/webhooks/:scope/:name/test": {
    request: json("/api/v1/config/webhooks/agent:BFI4%2Fnone/ops/test", {}),
    cookie: ADMIN_ONLY_PAST(409),
  },
  "GET /api/v1/config/agents": { request: get("/api/v1/config/agents"), cookie: ADMIN_ONLY },
  "GET /api/v1/notifications": { request: get("/api/v1/notifications"), cookie: READ },
  "GET /api/v1/silences": { request: get("/api/v1/silences"), cookie: READ },
  "POST /api/v1/silences": {
    request: json("/api/v1/silences", { match: { site: SITE }, for: "1h" }),
    cookie: [401, 401, 403, 201, 201, 403],
  },
  "DELETE /api/v1/silences/:id": {
    request: async (f) => ({ path: `/api/v1/silences/${await addSilence(f)}` }),
    cookie: [401, 401, 403, 200, 200, 403],
  },
  "GET /api/v1/routes": { request: get("/api/v1/routes"), cookie: ADMIN_ONLY },
  "POST /api/v1/routes": {
    request: json("/api/v1/routes", { route: { webhooks: ["ops"] } }),
    cookie: [401, 401, 403, 403, 201, 403],
  },
  "DELETE /api/v1/routes/:id": {
    request: async (f) => ({ path: `/api/v1/routes/${await addRoute(f)}` }),
    cookie: ADMIN_ONLY,
  },
  "GET /scripts/:site/:host/:script": {
    request: get(PAGE_PATH),
    cookie: [303, 401, 200, 200, 200, 403],
    token: [303, 401, 401, 401, 401, 403],
  },
  "GET /scripts/:site/:host/:script/log": {
    request: get(`${PAGE_PATH}/log`),
    cookie: [303, 401, 200, 200, 200, 403],
    token: [303, 401, 401, 401, 401, 403],
  },
  "GET /alerts": { request: get("/alerts"), cookie: PAGE, token: PAGE_BY_TOKEN },
  "GET /notifications": { request: get("/notifications"), cookie: PAGE, token: PAGE_BY_TOKEN },
  "GET /export": { request: get("/export"), cookie: PAGE, token: PAGE_BY_TOKEN },
  "GET /reports": { request: get("/reports"), cookie: PAGE, token: PAGE_BY_TOKEN },
  "GET /config": {
    request: get("/config"),
    cookie: [303, 401, 403, 403, 200, 403],
    token: [303, 401, 403, 403, 401, 403],
  },
  "GET /audit": {
    request: get("/audit"),
    cookie: [303, 401, 403, 403, 200, 403],
    token: [303, 401, 403, 403, 401, 403],
  },
  "GET /login": { request: get("/login"), cookie: [200, 200, 200, 200, 200, 200] },
  "POST /login": {
    request: () =>
      Promise.resolve({
        path: "/login",
        body: new URLSearchParams({ username: `probe-${crypto.randomUUID()}`, password: "x" })
          .toString(),
        type: "application/x-www-form-urlencoded",
      }),
    cookie: [401, 401, 401, 401, 401, 401],
  },
  // Signs the user out: run last (see below).
  "POST /logout": {
    request: () => Promise.resolve({ path: "/logout", body: "{}" }),
    cookie: [401, 401, 303, 303, 303, 303],
    token: [401, 401, 401, 401, 401, 401],
  },
  "GET /": { request: get("/"), cookie: PAGE, token: PAGE_BY_TOKEN },
  "GET /live/fleet": {
    request: get("/live/fleet"),
    cookie: READ,
    token: [401, 401, 401, 401, 401, 401],
  },
  // Both handlers of this path: the pages' own files (pages.ts) and the fleet page's (routes.ts).
  "GET /static/:name": { request: get("/static/app.js"), cookie: READ },
};

async function openAlert(f: AccessFixture): Promise<string> {
  const alert = await f.store.alerts.open(
    {
      rule: "script-down",
      key: `script-down|${SITE}|${HOST}|${SCRIPT}|${crypto.randomUUID()}`,
      severity: "critical",
      site: SITE,
      host: HOST,
      script: SCRIPT,
      check: null,
      title: `${SCRIPT} is down on ${SITE}/${HOST}`,
      firedAt: new Date(f.now()).toISOString(),
    } as Parameters<typeof f.store.alerts.open>[0],
  );
  return alert.id;
}

async function queueCommand(f: AccessFixture): Promise<string> {
  const command = await f.store.commands.queue({
    site: SITE,
    host: HOST,
    action: "restart",
    script: SCRIPT,
    requestedBy: "test",
    ttlMs: 60_000,
    now: f.now(),
  });
  return command.id;
}

async function addSilence(f: AccessFixture): Promise<string> {
  const id = `s-${crypto.randomUUID().slice(0, 8)}`;
  await f.alerts.rules.addSilence({
    id,
    match: { site: SITE },
    until: new Date(f.now() + 3_600_000).toISOString(),
  });
  return id;
}

async function addRoute(f: AccessFixture): Promise<string> {
  const res = await f.request("admin", "token", "/api/v1/routes", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ route: { webhooks: ["ops"] } }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).route.id;
}

/** `METHOD path` of every route the app has (middleware left out). */
function routesOf(app: AccessFixture["app"]): string[] {
  const routes = new Set<string>();
  for (const route of app.routes) {
    if (route.method !== "ALL") routes.add(`${route.method} ${route.path}`);
  }
  return [...routes];
}

Deno.test("every route has an expected status for each role in the table", async () => {
  await withAccess((f) => {
    const missing = routesOf(f.app).filter((r) => !(r in TABLE));
    assert.deepEqual(missing, [], `routes without a rule in tests/route_roles_test.ts: ${missing}`);
    const stale = Object.keys(TABLE).filter((r) => !routesOf(f.app).includes(r));
    assert.deepEqual(stale, [], `rules for routes the app does not have: ${stale}`);
    return Promise.resolve();
  });
});

for (const via of ["cookie", "token"] as const satisfies readonly Credential[]) {
  Deno.test(`each route answers each role as the table says (${via === "cookie" ? "signed-in users" : "API tokens"})`, async () => {
    await withAccess(async (f) => {
      const failures: string[] = [];
      // Sign-out last: it ends the session the other requests use.
      const routes = routesOf(f.app).sort((a, b) =>
        Number(a === "POST /logout") - Number(b === "POST /logout")
      );
      for (const route of routes) {
        const rule = TABLE[route];
        if (rule === undefined) continue; // The test above names it.
        const method = route.slice(0, route.indexOf(" "));
        for (const [i, who] of PRINCIPALS.entries()) {
          const expected = (via === "token" ? rule.token ?? rule.cookie : rule.cookie)[i];
          const status = await send(f, who, via, method, rule);
          if (status.code !== expected) {
            failures.push(
              `${route} as ${who}: expected ${expected}, got ${status.code} ${status.text}`,
            );
          }
        }
      }
      assert.deepEqual(failures, []);
    });
  });
}

async function send(
  f: AccessFixture,
  who: PrincipalName,
  via: Credential,
  method: string,
  rule: Case,
): Promise<{ code: number; text: string }> {
  const { path, body, type } = await rule.request(f);
  const res = await f.request(who, via, path, {
    method,
    ...(body === undefined ? {} : { body }),
    headers: body === undefined ? {} : { "content-type": type ?? "application/json" },
  });
  const stream = res.headers.get("content-type")?.startsWith("text/event-stream") ?? false;
  // A live stream does not end by itself: its status is all this test needs.
  const text = stream ? (await res.body?.cancel(), "") : (await res.text()).slice(0, 160);
  return { code: res.status, text };
}
