/**
 * The OpenAPI document against the app built as `serve.ts` builds it (with
 * alerting, so every route is there): every route the app registers is in
 * the document (the web UI's pages and assets excepted, by name), every
 * path in it is a route, it is well-formed, and the JSON answers of the
 * routes match the schemas it shows.
 */
import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { CentralConfig, CentralStore } from "../central/mod.ts";
import { checkConfigLayers } from "../../shared/agent_config/mod.ts";
import { generateKey, parseKey } from "../../shared/config/mod.ts";
import { parseConfig } from "../config/load.ts";
import { CollectorAlerts } from "../fleet/alerts.ts";
import { Store } from "../store/store.ts";
import { events, ingestRequest } from "../_testing.ts";
import { openApiDocument } from "./openapi.ts";
import { API_ROUTES } from "./openapi_routes.ts";

/** The web UI's routes (pages, sign-in, the pages' live stream): for browsers, not the API. */
const WEB_UI = [
  "GET /",
  "GET /alerts",
  "GET /notifications",
  "GET /export",
  "GET /reports",
  "GET /audit",
  "GET /config",
  "GET /scripts/:site/:host/:script",
  "GET /scripts/:site/:host/:script/log",
  "GET /live/fleet",
  "GET /login",
  "POST /login",
  "POST /logout",
  "GET /favicon.ico",
  "GET /wall",
];
/** The web UI's static assets: every route under this. */
const WEB_ASSETS = "GET /static/";

interface Doc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown> };
}

interface Operation {
  security?: Record<string, unknown>[];
  parameters?: { name: string; in: string; required?: boolean }[];
  responses: Record<string, unknown>;
}

type App = ReturnType<typeof createApp>;

interface Fixture {
  app: App;
  store: Store;
  agentToken: string;
  apiToken: string;
}

async function withApp(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const store = new Store(kv);
  const config = parseConfig("", { path: "/tmp/collector.toml", vars: {} });
  const alerts = new CollectorAlerts({ kv, store, config });
  try {
    await alerts.start();
    const central = new CentralConfig({
      store: new CentralStore(kv),
      key: parseKey(generateKey(), "test"),
      check: (layers) => checkConfigLayers(layers),
      clock: { now: () => Date.now() },
    });
    const app = createApp({ store, config, alerts, control: alerts, central });
    const now = Date.now();
    const agentToken =
      (await store.createToken({ kind: "agent", name: "ws-01", site: "BFI4", now })).token;
    const apiToken =
      (await store.createToken({ kind: "api", name: "ops", role: "admin", now })).token;
    await fn({ app, store, agentToken, apiToken });
  } finally {
    await alerts.close();
    kv.close();
  }
}

/** Hono's `/a/:b` as OpenAPI writes it: `/a/{b}`. */
const templated = (path: string) => path.replaceAll(/:([A-Za-z_]\w*)/g, "{$1}");

/** `METHOD path` (OpenAPI's form) of every API route of `app`: all but the web UI's. */
function apiRoutesOf(app: App): string[] {
  const routes = new Set<string>();
  for (const { method, path } of app.routes) {
    const route = `${method} ${path}`;
    if (method === "ALL" || WEB_UI.includes(route) || route.startsWith(WEB_ASSETS)) continue;
    routes.add(`${method} ${templated(path)}`);
  }
  return [...routes];
}

/** `METHOD path` of every operation of the document. */
function documented(doc: Doc): string[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`)
  );
}

Deno.test("every API route of the app is in the OpenAPI document, and every path there is a route", () =>
  withApp(({ app }) => {
    const doc = openApiDocument() as unknown as Doc;
    const routes = apiRoutesOf(app);
    const missing = routes.filter((route) => !documented(doc).includes(route));
    assert.deepEqual(missing, [], `routes missing from collector/api/openapi_routes.ts`);
    const stale = documented(doc).filter((route) => !routes.includes(route));
    assert.deepEqual(stale, [], `documented operations the app does not have`);
    // The exceptions name real pages only, so that none hides an API route.
    const all = app.routes.map(({ method, path }) => `${method} ${path}`);
    assert.deepEqual(WEB_UI.filter((route) => !all.includes(route)), []);
    return Promise.resolve();
  }));

Deno.test("a route added to the app without an entry in the route table is caught", () =>
  withApp(({ app }) => {
    app.get("/api/v1/agents/:site/undocumented", (c) => c.json({}));
    const doc = openApiDocument() as unknown as Doc;
    assert.deepEqual(
      apiRoutesOf(app).filter((route) => !documented(doc).includes(route)),
      ["GET /api/v1/agents/{site}/undocumented"],
    );
    return Promise.resolve();
  }));

Deno.test("the OpenAPI document is well-formed: refs resolve, path parameters declared, credentials named", () => {
  const doc = openApiDocument() as unknown as Doc;
  assert.equal(doc.openapi, "3.1.0");
  const refs: string[] = [];
  JSON.stringify(doc, (key, value) => {
    assert.ok(key !== "$schema" && key !== "$defs", `no JSON Schema ${key} left in the document`);
    if (key === "$ref") refs.push(value);
    return value;
  });
  for (const ref of new Set(refs)) {
    assert.match(ref, /^#\//);
    const target = ref.slice(2).split("/").reduce<unknown>(
      (node, part) => (node as Record<string, unknown> | undefined)?.[part],
      doc,
    );
    assert.ok(target !== undefined, `${ref} resolves`);
  }
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const where = `${method.toUpperCase()} ${path}`;
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const declared = (op.parameters ?? []).filter((p) => p.in === "path");
      assert.deepEqual(declared.map((p) => p.name), inPath, `${where}: path parameters`);
      assert.ok(declared.every((p) => p.required === true), `${where}: path parameters required`);
      assert.ok(Object.keys(op.responses).some((code) => /^2\d\d$/.test(code)), `${where}: a 2xx`);
      assert.ok(op.security !== undefined, `${where}: security stated`);
      for (const scheme of op.security.flatMap(Object.keys)) {
        assert.ok(scheme in doc.components.securitySchemes, `${where}: scheme ${scheme}`);
      }
    }
  }
});

Deno.test("openApiDocument() refuses a route table with a route twice or a stray path parameter", () => {
  const healthz = API_ROUTES.find((route) => route.path === "/healthz")!;
  assert.throws(() => openApiDocument([healthz, healthz]), {
    name: "Error",
    message: "Route GET /healthz is twice in the route table",
  });
  assert.throws(() => openApiDocument([{ ...healthz, pathParams: { site: {} } }]), {
    name: "Error",
    message: "Route GET /healthz: pathParams name site, not in the path",
  });
});

/** GET routes whose answer needs more than this fixture has. */
const NOT_CALLED = [
  // Answered by a running agent through a logs command (tests/log_viewer_test.ts); its
  // schema is tied to the LogsAnswer type in _openapi_answers_test.ts.
  "GET /api/v1/agents/:site/:host/scripts/:name/logs",
];

Deno.test("the JSON answers of the GET routes match the schemas the document shows", () =>
  withApp(async ({ app, store, agentToken, apiToken }) => {
    const ingest = await app.request("/api/v1/ingest", {
      method: "POST",
      headers: { authorization: `Bearer ${agentToken}`, "content-type": "application/json" },
      body: JSON.stringify(ingestRequest({ events: events([1, 2, 3]) })),
    });
    assert.equal(ingest.status, 200, await ingest.text());
    const now = Date.now();
    const command = await store.commands.queue({
      site: "BFI4",
      host: "ws-01",
      action: "restart",
      script: "rates",
      requestedBy: "test",
      ttlMs: 60_000,
      now,
    });
    await store.alerts.open({
      rule: "script-down",
      key: "script-down|BFI4|ws-01|rates|",
      severity: "critical",
      site: "BFI4",
      host: "ws-01",
      script: "rates",
      check: null,
      title: "rates is down on BFI4/ws-01",
      firedAt: new Date(now).toISOString(),
    });
    const saved = await app.request("/api/v1/config/documents/fleet", {
      method: "PUT",
      headers: { authorization: `Bearer ${apiToken}`, "content-type": "application/json" },
      body: JSON.stringify({ text: '[scripts.rates]\ncommand = "rates"\n', why: "schemas" }),
    });
    assert.equal(saved.status, 201, await saved.text());
    const values: Record<string, string> = {
      site: "BFI4",
      host: "ws-01",
      name: "rates",
      id: command.id,
      n: "1",
      scope: "fleet",
    };
    const checked: string[] = [];
    for (const route of API_ROUTES) {
      const name = `${route.method} ${route.path}`;
      if (route.method !== "GET" || route.ok.json === undefined || NOT_CALLED.includes(name)) {
        continue;
      }
      const path = route.path.replaceAll(/:(\w+)/g, (_, param: string) => values[param]);
      const token = route.caller === "agent" ? agentToken : apiToken;
      const res = await app.request(path, { headers: { authorization: `Bearer ${token}` } });
      const body = await res.json();
      assert.equal(res.status, route.ok.status ?? 200, `${name}: ${JSON.stringify(body)}`);
      const parsed = route.ok.json.safeParse(body);
      assert.ok(parsed.success, `${name}: ${parsed.error?.message}`);
      checked.push(name);
    }
    assert.ok(checked.includes("GET /api/v1/alerts") && checked.includes("GET /api/v1/events"));
  }));
