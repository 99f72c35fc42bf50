/**
 * The collector's HTTP API through `app.request()`: ingest, auth, validation,
 * fleet listings, events, commands and the long-poll.
 */
import assert from "node:assert/strict";
import { createApp } from "../collector/mod.ts";
import { isPagePath, isPublic } from "../collector/auth/mod.ts";
import { parseConfig } from "../collector/config/mod.ts";
import { Store } from "../collector/store/mod.ts";
import { events, ingestRequest, script } from "../collector/_testing.ts";
import type { IngestRequest, IngestResponse } from "../shared/mod.ts";

interface Fixture {
  app: ReturnType<typeof createApp>;
  store: Store;
  agentToken: string;
  apiToken: string;
  ingest(body: unknown, token?: string): Promise<Response>;
  api(path: string, init?: RequestInit): Promise<Response>;
}

async function withCollector(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new Store(kv);
    const config = parseConfig("", { path: "/tmp/collector.toml", vars: {} });
    const app = createApp({ store, config });
    const now = Date.now();
    const agentToken =
      (await store.createToken({ kind: "agent", name: "bfi4-ws", site: "BFI4", now }))
        .token;
    const apiToken =
      (await store.createToken({ kind: "api", name: "ops", role: "admin", now })).token;
    await fn({
      app,
      store,
      agentToken,
      apiToken,
      ingest: (body, token = agentToken) =>
        Promise.resolve(app.request("/api/v1/ingest", {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: typeof body === "string" ? body : JSON.stringify(body),
        })),
      api: (path, init = {}) =>
        Promise.resolve(app.request(path, {
          ...init,
          headers: { authorization: `Bearer ${apiToken}`, ...init.headers },
        })),
    });
  } finally {
    kv.close();
  }
}

async function ingestOk(f: Fixture, body: IngestRequest): Promise<IngestResponse> {
  const response = await f.ingest(body);
  assert.equal(response.status, 200, await response.clone().text());
  return await response.json();
}

/** A page, its live stream, sign-in/out or an asset: not part of the REST API. */
function isWebRoute(path: string): boolean {
  return (isPagePath(path) && path !== "/metrics") || path.startsWith("/live/") ||
    path.startsWith("/static/");
}

async function errorOf(response: Response, status: number): Promise<string> {
  const body = await response.json();
  assert.equal(response.status, status, JSON.stringify(body));
  return body.error;
}

Deno.test("the same ingest batch twice is stored once and ackedSeq stays", () =>
  withCollector(async (f) => {
    const body = ingestRequest({ events: events([1, 2, 3]) });
    assert.equal((await ingestOk(f, body)).ackedSeq, 3);
    assert.equal((await ingestOk(f, body)).ackedSeq, 3);
    const page = await (await f.api("/api/v1/events")).json();
    assert.deepEqual(page.events.map((e: { seq: number }) => e.seq), [3, 2, 1]);
  }));

Deno.test("a gap keeps ackedSeq at the last contiguous seq until it is filled", () =>
  withCollector(async (f) => {
    assert.equal((await ingestOk(f, ingestRequest({ events: events([1, 2, 5]) }))).ackedSeq, 2);
    assert.equal((await ingestOk(f, ingestRequest({ events: events([3, 4]) }))).ackedSeq, 5);
  }));

Deno.test("an agent token of another site is refused with 403", () =>
  withCollector(async (f) => {
    const message = await errorOf(await f.ingest(ingestRequest({ site: "SEA8" })), 403);
    assert.equal(message, 'Agent token "bfi4-ws" is for site "BFI4", not agent.site "SEA8"');
  }));

Deno.test("ingest without a token, with a revoked one or with an API token is 401", () =>
  withCollector(async (f) => {
    const body = JSON.stringify(ingestRequest());
    const bare = await f.app.request("/api/v1/ingest", { method: "POST", body });
    assert.match(await errorOf(bare, 401), /^Missing credential for POST \/api\/v1\/ingest/);
    assert.equal(bare.headers.get("www-authenticate"), 'Bearer realm="scriptmon"');
    assert.equal(
      await errorOf(await f.ingest(body, f.apiToken), 401),
      "Unknown or revoked agent token for /api/v1/ingest",
    );
    await f.store.revokeToken("agent", "bfi4-ws", Date.now());
    await errorOf(await f.ingest(body), 401);
  }));

Deno.test("malformed ingest bodies are 400 naming the first bad field and its value", () =>
  withCollector(async (f) => {
    const bad = ingestRequest({ events: events([1, 2, 3, 4]) });
    bad.events[3].seq = -1;
    assert.equal(
      await errorOf(await f.ingest(bad), 400),
      "events.3.seq: expected a positive integer, got -1",
    );
    assert.match(await errorOf(await f.ingest("{nope"), 400), /^body: expected JSON/);
    assert.equal(
      await errorOf(await f.ingest({ ...ingestRequest(), protocol: 2 }), 400),
      "protocol: expected 1, got 2",
    );
    assert.equal(
      await errorOf(await f.ingest({ ...ingestRequest(), agent: undefined }), 400),
      "agent: expected an object, got nothing",
    );
    const extra = ingestRequest();
    assert.equal(
      await errorOf(await f.ingest({ ...extra, agent: { ...extra.agent, colour: "red" } }), 400),
      'agent.colour: unknown key "colour"',
    );
    const badScript = ingestRequest({ scripts: [script("rates", { restarts: 1.5 })] });
    assert.equal(
      await errorOf(await f.ingest(badScript), 400),
      "scripts.0.restarts: expected an integer, got 1.5",
    );
  }));

Deno.test("an ingest body over MAX_INGEST_BYTES is 413", () =>
  withCollector(async (f) => {
    const huge = JSON.stringify({ ...ingestRequest(), pad: "x".repeat(1024 * 1024) });
    assert.match(await errorOf(await f.ingest(huge), 413), /at most 1048576 bytes/);
  }));

Deno.test("other POSTs have a smaller body limit", () =>
  withCollector(async (f) => {
    await ingestOk(f, ingestRequest());
    const response = await f.api("/api/v1/agents/BFI4/ws-01/scripts/rates/restart", {
      method: "POST",
      body: "x".repeat(70_000),
    });
    await errorOf(response, 413);
  }));

Deno.test("scripts are listed flat across agents and filtered by site, state and q", () =>
  withCollector(async (f) => {
    await ingestOk(f, ingestRequest({ host: "ws-01" }));
    // One token per workstation: a token speaks for the first host that used it.
    const ws02 =
      (await f.store.createToken({ kind: "agent", name: "ws-02", site: "BFI4", now: Date.now() }))
        .token;
    const second = await f.ingest(
      ingestRequest({
        host: "ws-02",
        scripts: [script("rates", { state: "crash-looping", health: "unhealthy" })],
      }),
      ws02,
    );
    assert.equal(second.status, 200);
    await second.body?.cancel();
    const sea =
      (await f.store.createToken({ kind: "agent", name: "sea", site: "SEA8", now: Date.now() }))
        .token;
    await f.ingest(ingestRequest({ site: "SEA8", host: "ws-09" }), sea);
    const all = await (await f.api("/api/v1/scripts")).json();
    assert.deepEqual(
      all.scripts.map((s: { site: string; host: string; script: string }) =>
        `${s.site}/${s.host}/${s.script}`
      ),
      [
        "BFI4/ws-01/rates",
        "BFI4/ws-01/token_monitor",
        "BFI4/ws-02/rates",
        "SEA8/ws-09/rates",
        "SEA8/ws-09/token_monitor",
      ],
    );
    const row = all.scripts[0];
    assert.deepEqual(Object.keys(row).sort(), [
      "agentOnline",
      "cpuPercent",
      "enabled",
      "health",
      "host",
      "lastExit",
      "reason",
      "reportedAt",
      "restarts",
      "rssBytes",
      "script",
      "site",
      "state",
      "uptimeMs",
      "uptimeRatio24h",
    ]);
    const looping = await (await f.api("/api/v1/scripts?state=crash-looping")).json();
    assert.deepEqual(looping.scripts.map((s: { host: string }) => s.host), ["ws-02"]);
    const token = await (await f.api("/api/v1/scripts?site=SEA8&q=TOKEN")).json();
    assert.deepEqual(token.scripts.map((s: { script: string }) => s.script), ["token_monitor"]);
    const sites = await (await f.api("/api/v1/sites")).json();
    assert.deepEqual(sites.sites[0], {
      site: "BFI4",
      agents: { online: 2, offline: 0 },
      scripts: { total: 3, running: 2, unhealthy: 1, crashLooping: 1, down: 0 },
    });
    const agents = await (await f.api("/api/v1/agents?site=BFI4")).json();
    assert.deepEqual(agents.agents.map((a: { host: string }) => a.host), ["ws-01", "ws-02"]);
  }));

Deno.test("events page newest first with a cursor, filter by kind and time, and export CSV", () =>
  withCollector(async (f) => {
    await ingestOk(f, ingestRequest({ events: events([1, 2, 3, 4, 5]) }));
    const first = await (await f.api("/api/v1/events?limit=2")).json();
    assert.deepEqual(first.events.map((e: { seq: number }) => e.seq), [5, 4]);
    const rest = await (await f.api(`/api/v1/events?limit=10&cursor=${first.cursor}`)).json();
    assert.deepEqual(rest.events.map((e: { seq: number }) => e.seq), [3, 2, 1]);
    assert.equal(rest.cursor, null);
    const kind = await (await f.api("/api/v1/events?kind=state&host=ws-01")).json();
    assert.deepEqual(kind.events.map((e: { seq: number }) => e.seq), [4, 2]);
    const timed = await (await f.api(
      "/api/v1/events?since=2026-05-01T12:00:02Z&until=2026-05-01T12:00:04Z",
    )).json();
    assert.deepEqual(timed.events.map((e: { seq: number }) => e.seq), [3, 2]);
    const csv = await f.api("/api/v1/events?format=csv&limit=1");
    assert.equal(csv.headers.get("content-type"), "text/csv; charset=utf-8");
    assert.ok(csv.headers.get("x-next-cursor"));
    const lines = (await csv.text()).split("\r\n");
    assert.equal(lines[0], "at,site,host,seq,kind,script,receivedAt,data");
    assert.match(
      lines[1],
      /^2026-05-01T12:00:05\.000Z,BFI4,ws-01,5,check,rates,.*,"\{""state"":""running"",""n"":5\}"$/,
    );
    assert.equal(
      await errorOf(await f.api("/api/v1/events?since=yesterday"), 400),
      'since: expected an ISO time like "2026-05-01T12:00:00Z", got "yesterday"',
    );
    assert.equal(
      await errorOf(await f.api("/api/v1/events?limit=0"), 400),
      'limit: expected an integer from 1 to 1000, got "0"',
    );
    assert.equal(
      await errorOf(await f.api("/api/v1/events?cursor=garbage"), 400),
      'cursor: expected a cursor from a previous page, got "garbage"',
    );
  }));

Deno.test("a queued command is delivered in the next ingest answer and done once acked", () =>
  withCollector(async (f) => {
    await ingestOk(f, ingestRequest());
    const queued = await f.api("/api/v1/agents/BFI4/ws-01/scripts/rates/restart", {
      method: "POST",
    });
    assert.equal(queued.status, 202);
    const { id } = await queued.json();
    const answer = await ingestOk(f, ingestRequest());
    assert.deepEqual(answer.commands.map((c) => [c.id, c.action, c.script, c.requestedBy]), [[
      id,
      "restart",
      "rates",
      "api-token:ops",
    ]]);
    const acked = await ingestOk(
      f,
      ingestRequest({
        acks: [{ id, ok: true, message: "restarted", at: new Date().toISOString() }],
      }),
    );
    assert.deepEqual(acked.commands, []);
    const { command } = await (await f.api(`/api/v1/agents/BFI4/ws-01/commands/${id}`)).json();
    assert.equal(command.state, "done");
    assert.deepEqual([command.result.ok, command.result.message], [true, "restarted"]);
  }));

Deno.test("commands only for scripts the agent reported, and only start, stop, restart", () =>
  withCollector(async (f) => {
    await ingestOk(f, ingestRequest());
    const post = (path: string) => f.api(path, { method: "POST" });
    assert.equal(
      await errorOf(await post("/api/v1/agents/BFI4/ws-01/scripts/ghost/start"), 404),
      'Agent BFI4/ws-01 has not reported a script "ghost"',
    );
    assert.equal(
      await errorOf(await post("/api/v1/agents/BFI4/nobody/scripts/rates/start"), 404),
      "No agent BFI4/nobody has reported",
    );
    assert.equal(
      await errorOf(await post("/api/v1/agents/BFI4/ws-01/scripts/rates/delete"), 404),
      'No action "delete": expected one of start, stop, restart',
    );
  }));

Deno.test("the commands long-poll answers as soon as a command is queued", () =>
  withCollector(async (f) => {
    await ingestOk(f, ingestRequest());
    const started = performance.now();
    const poll = Promise.resolve(f.app.request("/api/v1/commands?wait=20000", {
      headers: { authorization: `Bearer ${f.agentToken}` },
    }));
    // Let the poll register before queueing (it reads the queue after registering).
    await new Promise((resolve) => setTimeout(resolve, 20));
    const queued = await (await f.api("/api/v1/agents/BFI4/ws-01/scripts/rates/stop", {
      method: "POST",
    })).json();
    const response = await poll;
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.deepEqual(body.commands.map((c: { id: string }) => c.id), [queued.id]);
    assert.ok(performance.now() - started < 2000, "answered promptly");
  }));

Deno.test("the long-poll with nothing queued answers empty after wait", () =>
  withCollector(async (f) => {
    await ingestOk(f, ingestRequest());
    const response = await f.app.request("/api/v1/commands?wait=50", {
      headers: { authorization: `Bearer ${f.agentToken}` },
    });
    assert.deepEqual((await response.json()).commands, []);
  }));

Deno.test("agents silent for offline_after go offline and come back on the next ingest", () =>
  withCollector(async (f) => {
    await ingestOk(f, ingestRequest());
    const marked = await f.store.markOffline(Date.now() + 31_000, 30_000);
    assert.deepEqual(marked.map((a) => a.host), ["ws-01"]);
    const agents = await (await f.api("/api/v1/agents")).json();
    assert.equal(agents.agents[0].online, false);
    await ingestOk(f, ingestRequest());
    assert.equal((await f.store.getAgent("BFI4", "ws-01"))?.online, true);
  }));

Deno.test("every route but the public ones refuses a request without a credential; pages redirect to /login", () =>
  withCollector(async (f) => {
    const health = await f.app.request("/healthz");
    assert.equal(health.status, 200);
    const routes = f.app.routes.filter((r) => r.method !== "ALL");
    assert.ok(routes.length >= 10, `found ${routes.length} routes`);
    const pages: string[] = [];
    for (const route of routes) {
      if (isPublic(route.method, route.path)) continue;
      const path = route.path.replaceAll(/:[A-Za-z]+/g, "x");
      const response = await f.app.request(path, {
        method: route.method,
        ...(route.method === "GET" ? {} : { body: "{}" }),
      });
      if (route.path === "/wall") {
        // A screen has nobody to sign in: the wall asks for its token instead (web_wall_test.ts).
        assert.equal(response.status, 401);
        await response.body?.cancel();
        continue;
      }
      if (route.method === "GET" && isPagePath(route.path)) {
        assert.equal(response.status, 303, `${route.method} ${route.path}`);
        assert.match(response.headers.get("location") ?? "", /^\/login(\?next=|$)/);
        await response.body?.cancel();
        pages.push(route.path);
        continue;
      }
      assert.equal(response.status, 401, `${route.method} ${route.path}`);
      assert.ok((await response.json()).error);
    }
    assert.ok(pages.includes("/"), `the fleet page is among ${pages}`);
    // The public routes: the sign-in page and its stylesheet.
    assert.equal((await f.app.request("/login")).status, 200);
    assert.equal((await f.app.request("/static/app.css")).status, 200);
    assert.equal((await f.app.request("/static/app.js")).status, 401);
    // A session cookie is no agent credential, and a made-up one is no session.
    const forged = await f.app.request("/api/v1/sites", {
      headers: { cookie: "scriptmon_session=" + "A".repeat(43) },
    });
    assert.equal(forged.status, 401);
    await forged.body?.cancel();
    // An API token is not an agent token and the other way round.
    const ingest = await f.app.request("/api/v1/commands", {
      headers: { authorization: `Bearer ${f.apiToken}` },
    });
    assert.equal(ingest.status, 401);
    const sites = await f.app.request("/api/v1/sites", {
      headers: { authorization: `Bearer ${f.agentToken}` },
    });
    assert.equal(sites.status, 401);
  }));

Deno.test("the OpenAPI document lists every route of the app", () =>
  withCollector(async (f) => {
    const doc = await (await f.api("/api/v1/openapi.json")).json();
    assert.equal(doc.openapi, "3.1.0");
    // The pages (and their live streams and assets) are for browsers, not the API.
    for (const route of f.app.routes.filter((r) => r.method !== "ALL" && !isWebRoute(r.path))) {
      const path = route.path.replaceAll(/:([A-Za-z]+)/g, "{$1}");
      assert.ok(
        doc.paths[path]?.[route.method.toLowerCase()],
        `${route.method} ${path} documented`,
      );
    }
  }));

Deno.test("an ingest that would leave too many seq gaps is refused with 400", () =>
  withCollector(async (f) => {
    const scattered = Array.from({ length: 100 }, (_, i) => 10 + 2 * i);
    const response = await f.ingest(ingestRequest({ events: events(scattered) }));
    assert.match(await errorOf(response, 400), /leave \d+ gaps above seq 0 \(at most 64\)/);
    // In order, the same agent goes on.
    await ingestOk(f, ingestRequest({ events: events([1, 2, 3]) }));
  }));
