/**
 * One generator of hostile requests per target (collector ingest, /login,
 * /api/v1 GET and POST, the pages, the agent's /ping, /relay and /api),
 * and {@linkcode hostileRequest}, which picks one by weight. Every request
 * is plain data; `fuzz_test.ts` sends it.
 *
 * @module
 */

import { MAX_INGEST_BYTES } from "../shared/mod.ts";
import { MAX_RELAY_BODY_BYTES } from "../shared/notify/mod.ts";
import {
  collectorAuth,
  deepText,
  extraHeaders,
  type FuzzContext,
  type FuzzRequest,
  HEADER_NASTY,
  ingestBody,
  junkQuery,
  MAX_BODY_BYTES,
  maybeContentType,
  METHODS,
  mutate,
  NASTY,
  originHeaders,
  padTo,
  randomBytes,
  type Rng,
  segment,
  type Target,
  tokenSummary,
  wrongValue,
} from "./_fuzz.ts";

function ingestRequest(rng: Rng, ctx: FuzzContext): FuzzRequest {
  const valid = ingestBody(ctx.site, ctx.junkHost, [1 + rng.int(50), 60 + rng.int(1000)]);
  // Acks and tokens too, so that their fields get mutated as well.
  const at = new Date().toISOString();
  valid.acks = [{ id: `cmd-${rng.int(1000)}`, ok: rng.chance(0.5), message: "done", at }];
  valid.tokens = [tokenSummary(at)];
  const url = `${ctx.collector}/api/v1/ingest`;
  const json = { "content-type": "application/json" };
  const junk = { authorization: `Bearer ${ctx.junkToken}` };
  // Bodies that cannot be stored go with the counted host's token too.
  const unstorable = rng.chance(0.3)
    ? { authorization: `Bearer ${ctx.validToken}` }
    : collectorAuth(rng, ctx, "agent");
  switch (rng.int(12)) {
    case 0: {
      const text = JSON.stringify(valid);
      return {
        target: "ingest",
        method: "POST",
        url,
        headers: { ...unstorable, ...json },
        body: text.slice(0, rng.int(text.length)),
      };
    }
    case 1:
      return {
        target: "ingest",
        method: "POST",
        url,
        headers: { ...unstorable, ...json },
        body: deepText(rng.pick([1000, 50_000, 400_000]), rng.chance(0.5)),
      };
    case 2: {
      // Deeply nested event data in an otherwise valid ingest.
      const text = JSON.stringify(valid).replace(
        '"data":{"seq"',
        `"data":{"deep":${deepText(rng.pick([200, 3000, 20_000, 100_000]), rng.chance(0.5))},"seq"`,
      );
      return { target: "ingest", method: "POST", url, headers: { ...junk, ...json }, body: text };
    }
    case 3:
      return {
        target: "ingest",
        method: "POST",
        url,
        headers: { ...unstorable, ...json },
        body: padTo(valid, MAX_INGEST_BYTES + rng.pick([1, 100])),
      };
    case 4:
      return {
        target: "ingest",
        method: "POST",
        url,
        headers: { ...junk, ...json },
        body: padTo(valid, MAX_INGEST_BYTES - rng.pick([0, 10])),
      };
    case 5: {
      const many = ingestBody(ctx.site, ctx.junkHost, Array.from({ length: 501 }, (_, i) => i + 1));
      return {
        target: "ingest",
        method: "POST",
        url,
        headers: { ...unstorable, ...json },
        body: JSON.stringify(many),
      };
    }
    case 6:
      return {
        target: "ingest",
        method: "POST",
        url,
        headers: { ...unstorable, ...maybeContentType(rng, "application/json") },
        body: randomBytes(rng, rng.pick([0, 1, 100, 5000])),
      };
    case 7:
      return {
        target: "ingest",
        method: rng.pick(METHODS.filter((m) => m !== "POST")),
        url: url + junkQuery(rng, ["host"]),
        headers: { ...collectorAuth(rng, ctx, "agent") },
      };
    default: {
      const body = mutate(rng, rng.chance(0.3) ? mutate(rng, valid) : valid);
      return {
        target: "ingest",
        method: "POST",
        url,
        headers: { ...junk, ...maybeContentType(rng, "application/json"), ...extraHeaders(rng) },
        body: JSON.stringify(body),
      };
    }
  }
}

function loginRequest(rng: Rng, ctx: FuzzContext): FuzzRequest {
  const url = `${ctx.collector}/login`;
  if (rng.chance(0.2)) {
    return {
      target: "login",
      method: rng.pick(["GET", "HEAD", "PUT", "DELETE"]),
      url: url + junkQuery(rng, ["next"]),
      headers: {},
    };
  }
  const form = new URLSearchParams();
  // Few requests reach the password hash (some 0.3 s of CPU each): most break a rule first.
  const password = rng.chance(0.15)
    ? rng.pick([ctx.user.password + "x", "wrong", "💥"])
    : rng.pick(["", "p".repeat(1001), "q".repeat(5000)]);
  if (rng.chance(0.9)) form.set("username", rng.chance(0.5) ? ctx.user.name : rng.pick(NASTY));
  if (rng.chance(0.9)) form.set("password", password);
  if (rng.chance(0.5)) {
    form.set(
      "next",
      rng.pick(["/", "//evil.example", "https://evil.example", "/\\evil", rng.pick(NASTY)]),
    );
  }
  if (rng.chance(0.1)) form.set("_csrf", rng.pick(NASTY));
  const body = rng.chance(0.1)
    ? rng.pick(["a=%ZZ&b", "&&&===", "%", "username=" + "u".repeat(70_000)])
    : form.toString();
  return {
    target: "login",
    method: "POST",
    url,
    headers: {
      ...originHeaders(rng, ctx.collector),
      ...maybeContentType(rng, "application/x-www-form-urlencoded"),
      ...extraHeaders(rng),
    },
    body: rng.chance(0.05) ? randomBytes(rng, 300) : body,
  };
}

const API_GETS = [
  "/api/v1/agents",
  "/api/v1/agents/{site}/{host}",
  "/api/v1/agents/{site}/{host}/commands/{id}",
  "/api/v1/agents/{site}/{host}/scripts/{name}/history",
  "/api/v1/agents/{site}/{host}/scripts/{name}/logs",
  "/api/v1/events",
  "/api/v1/scripts",
  "/api/v1/sites",
  "/api/v1/alerts",
  "/api/v1/notifications",
  "/api/v1/silences",
  "/api/v1/routes",
  "/api/v1/tokens",
  "/api/v1/audit",
  "/api/v1/export",
  "/api/v1/reports/uptime",
  "/api/v1/openapi.json",
  "/api/v1/commands",
  "/api/v1/{name}",
  "/metrics",
];

const QUERY_NAMES = [
  "site",
  "host",
  "kind",
  "limit",
  "cursor",
  "since",
  "until",
  "state",
  "format",
  "wait",
  "lines",
  "after",
  "action",
  "script",
  "days",
];

function fillPath(rng: Rng, ctx: FuzzContext, template: string): string {
  return template
    .replace("{site}", segment(rng, ctx.site))
    .replace("{host}", segment(rng, rng.chance(0.5) ? ctx.junkHost : "nohost"))
    .replace("{name}", segment(rng, "rates"))
    .replace("{id}", segment(rng, "cmd-000000000-0000000000"));
}

function apiGetRequest(rng: Rng, ctx: FuzzContext): FuzzRequest {
  let query = junkQuery(rng, QUERY_NAMES);
  // A long-poll would hold the request open: keep `wait` at zero.
  query = query.replace(/([?&])wait=[^&]*/g, "$1wait=0");
  if (rng.chance(0.05)) query = `?${"a".repeat(rng.pick([8000, 16_000]))}`;
  return {
    target: "api-get",
    method: rng.chance(0.9) ? "GET" : "HEAD",
    url: ctx.collector + fillPath(rng, ctx, rng.pick(API_GETS)) + query,
    headers: { ...collectorAuth(rng, ctx, "api"), ...extraHeaders(rng) },
  };
}

const API_POSTS = [
  "/api/v1/agents/{site}/{host}/scripts/{name}/restart",
  "/api/v1/agents/{site}/{host}/scripts/{name}/stop",
  "/api/v1/agents/{site}/{host}/scripts/{name}/{id}",
  "/api/v1/alerts/{id}/ack",
  "/api/v1/alerts/{id}/silence",
  "/api/v1/silences",
  "/api/v1/silences/{id}",
  "/api/v1/routes",
  "/api/v1/routes/{id}",
  "/api/v1/leases/{name}",
  "/api/v1/dedupe",
  "/api/v1/commands",
  "/logout",
  "/api/v1/{name}",
];

function jsonBody(rng: Rng): string | Uint8Array {
  switch (rng.int(8)) {
    case 0:
      return "";
    case 1:
      return "{";
    case 2:
      return deepText(rng.pick([100, 10_000]), rng.chance(0.5));
    case 3:
      return padTo({ reason: "x" }, MAX_BODY_BYTES + rng.pick([1, 50]));
    case 4:
      return padTo({ reason: "x" }, MAX_BODY_BYTES - 1);
    case 5:
      return randomBytes(rng, 200);
    default:
      return JSON.stringify(
        rng.chance(0.5)
          ? { matchers: wrongValue(rng), duration: wrongValue(rng), comment: wrongValue(rng) }
          : {
            script: wrongValue(rng),
            ttl: wrongValue(rng),
            holder: wrongValue(rng),
            key: wrongValue(rng),
            windowMs: wrongValue(rng),
            [rng.pick(NASTY).slice(0, 20)]: wrongValue(rng),
          },
      );
  }
}

function apiPostRequest(rng: Rng, ctx: FuzzContext): FuzzRequest {
  const withSession = rng.chance(0.3);
  const auth = withSession
    ? {
      cookie: `scriptmon_session=${ctx.session.cookie}`,
      ...(rng.chance(0.6)
        ? { "x-csrf-token": rng.chance(0.7) ? ctx.session.csrf : rng.pick(HEADER_NASTY) }
        : {}),
      ...originHeaders(rng, ctx.collector),
    }
    : collectorAuth(rng, ctx, rng.chance(0.8) ? "api" : "agent");
  return {
    target: "api-post",
    method: rng.pick(["POST", "POST", "POST", "PUT", "DELETE", "PATCH"]),
    url: ctx.collector + fillPath(rng, ctx, rng.pick(API_POSTS)) +
      (rng.chance(0.2) ? junkQuery(rng, QUERY_NAMES) : ""),
    headers: { ...auth, ...maybeContentType(rng, "application/json"), ...extraHeaders(rng) },
    body: jsonBody(rng),
  };
}

const PAGES = [
  "/",
  "/scripts/{site}/{host}/{name}",
  "/scripts/{site}/{host}/{name}/log",
  "/alerts",
  "/notifications",
  "/export",
  "/reports",
  "/audit",
  "/static/{name}",
  "/static/app.css",
  "/live/fleet",
  "/{name}",
];

function pageRequest(rng: Rng, ctx: FuzzContext): FuzzRequest {
  return {
    target: "page",
    method: rng.chance(0.9) ? "GET" : rng.pick(METHODS),
    url: ctx.collector + fillPath(rng, ctx, rng.pick(PAGES)) +
      junkQuery(rng, ["next", "fragment", "site", "q", "state", "from", "to"]),
    headers: {
      ...collectorAuth(rng, ctx, "api"),
      ...(rng.chance(0.5) ? { accept: "text/html" } : {}),
      ...originHeaders(rng, ctx.collector),
    },
  };
}

function pingRequest(rng: Rng, ctx: FuzzContext): FuzzRequest {
  const suffix = rng.pick(["", "", "/start", "/fail", "/other", "/fail/x", "/" + rng.pick(NASTY)]);
  const method = rng.pick(["GET", "POST", "POST", "PUT", "DELETE", "HEAD", "PATCH"]);
  return {
    target: "ping",
    method,
    url: `${ctx.agent}/ping/${segment(rng, ctx.script)}${suffix}${
      rng.chance(0.1) ? junkQuery(rng, ["x"]) : ""
    }`,
    headers: {
      ...(rng.chance(0.15) ? originHeaders(rng, ctx.agent) : {}),
      ...maybeContentType(rng, "text/plain"),
      ...extraHeaders(rng),
    },
    ...(method === "GET" || method === "HEAD" ? {} : {
      body: rng.chance(0.2)
        ? "p".repeat(rng.pick([10_001, 200_000]))
        : rng.chance(0.2)
        ? randomBytes(rng, 500)
        : String(rng.pick(NASTY)),
    }),
  };
}

function relayRequest(rng: Rng, ctx: FuzzContext): FuzzRequest {
  const body = (() => {
    switch (rng.int(6)) {
      case 0:
        return "r".repeat(MAX_RELAY_BODY_BYTES + rng.pick([1, 100]));
      case 1:
        return "r".repeat(MAX_RELAY_BODY_BYTES - rng.pick([0, 10]));
      case 2:
        return randomBytes(rng, 300);
      case 3:
        return deepText(rng.pick([100, 20_000]), rng.chance(0.5));
      default:
        return JSON.stringify({ text: `fuzz ${rng.int(1e9)} ${rng.pick(NASTY)}` });
    }
  })();
  return {
    target: "relay",
    method: rng.chance(0.9) ? "POST" : rng.pick(METHODS),
    url: `${ctx.agent}/relay/${segment(rng, ctx.webhook)}${
      rng.chance(0.1) ? junkQuery(rng, ["x"]) : ""
    }`,
    headers: {
      ...(rng.chance(0.15) ? originHeaders(rng, ctx.agent) : {}),
      ...maybeContentType(rng, "application/json"),
      ...(rng.chance(0.2) ? { "idempotency-key": rng.pick(HEADER_NASTY).slice(0, 3000) } : {}),
      ...extraHeaders(rng),
    },
    body,
  };
}

const AGENT_PATHS = [
  "/api/status",
  "/api/notifications",
  "/api/silences",
  "/api/silences/{id}",
  "/api/scripts/{name}/restart",
  "/api/scripts/{name}/start",
  "/api/scripts/{name}/{id}",
  "/api/{name}",
  "/api/reload",
  "/metrics",
  "/healthz",
  "/",
  "/{name}",
];

function agentApiRequest(rng: Rng, ctx: FuzzContext): FuzzRequest {
  const template = rng.pick(AGENT_PATHS);
  const path = template
    // A real start/stop/restart of the fuzzed agent's script is not the point: unknown names only.
    .replace(
      "{name}",
      template.includes("scripts") ? segment(rng, "nosuch") : segment(rng, "status"),
    )
    .replace("{id}", segment(rng, "x"));
  const method = rng.pick(["GET", "GET", "POST", "DELETE", "PUT"]);
  const auth: Record<string, string> = rng.chance(0.5)
    ? { authorization: `Bearer ${ctx.controlSecret}` }
    : rng.chance(0.5)
    ? {}
    : { authorization: rng.pick(HEADER_NASTY) };
  let query = junkQuery(rng, ["state", "since", "limit", "channel", "fragment"]);
  if (path === "/api/reload") query = "";
  return {
    target: "agent-api",
    method,
    url: ctx.agent + path + query,
    headers: {
      ...auth,
      ...(rng.chance(0.2) ? originHeaders(rng, ctx.agent) : {}),
      ...maybeContentType(rng, "application/json"),
      ...extraHeaders(rng),
    },
    ...(method === "GET" ? {} : { body: jsonBody(rng) }),
  };
}

const GENERATORS: readonly [Target, number, (rng: Rng, ctx: FuzzContext) => FuzzRequest][] = [
  ["ingest", 22, ingestRequest],
  ["login", 5, loginRequest],
  ["api-get", 20, apiGetRequest],
  ["api-post", 15, apiPostRequest],
  ["page", 6, pageRequest],
  ["ping", 12, pingRequest],
  ["relay", 10, relayRequest],
  ["agent-api", 10, agentApiRequest],
];
const TOTAL_WEIGHT = GENERATORS.reduce((sum, [, w]) => sum + w, 0);

/** One hostile request to a target picked by weight. */
export function hostileRequest(rng: Rng, ctx: FuzzContext): FuzzRequest {
  let roll = rng.int(TOTAL_WEIGHT);
  for (const [, weight, generate] of GENERATORS) {
    if (roll < weight) return generate(rng, ctx);
    roll -= weight;
  }
  throw new Error("cannot happen: the weights cover every roll");
}
