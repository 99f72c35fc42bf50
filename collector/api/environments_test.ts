import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { parseConfig } from "../config/load.ts";
import { Store } from "../store/store.ts";
import { CentralConfig, CentralStore } from "../central/mod.ts";
import { SiteEnvironments } from "../fleet/environments.ts";
import { Users } from "../auth/users.ts";
import { checkConfigLayers } from "../../shared/agent_config/mod.ts";
import { generateKey, parseKey } from "../../shared/config/secrets.ts";
import { ingestRequest } from "../_testing.ts";
import { AGENT_FEATURES_HEADER, ingestResponseSchema } from "../../shared/protocol.ts";

const T = Date.parse("2026-12-01T12:00:00Z");

async function withEnvironments(
  fn: (f: {
    store: Store;
    request(path: string, token: string, body?: unknown, method?: string): Promise<Response>;
    agent(site: string, host: string, environment?: string): Promise<string>;
    admin: string;
  }) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const clock = { now: () => T, sleep: () => Promise.resolve() };
  const store = new Store(kv);
  const environments = new SiteEnvironments(store, clock);
  const central = new CentralConfig({
    store: new CentralStore(kv),
    key: parseKey(generateKey(), "test"),
    clock,
    check: (layers) => checkConfigLayers(layers),
    environmentOf: (site) => environments.environmentOf(site),
  });
  const config = parseConfig(`[collector]\n`, { path: "/tmp/collector.toml", vars: {} });
  const app = createApp({ store, config, clock, central, environments, users: new Users(kv) });
  const admin = (await store.createToken({ kind: "api", name: "ann", role: "admin", now: T }))
    .token;
  const request = async (path: string, token: string, body?: unknown, method?: string) =>
    await app.request(path, {
      method: method ?? (body === undefined ? "GET" : "POST"),
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        [AGENT_FEATURES_HEADER]: "logs,central-config",
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  try {
    await fn({
      store,
      admin,
      request,
      agent: async (site, host, environment) => {
        const { token } = await store.createToken({
          kind: "agent",
          name: host,
          site,
          ...(environment === undefined ? {} : { environment }),
          now: T,
        });
        return token;
      },
    });
  } finally {
    kv.close();
  }
}

Deno.test("an agent of another environment may not report for a site; the 403 says whose", async () => {
  await withEnvironments(async ({ request, agent }) => {
    const prod = await agent("FC1", "ws-1", "prod");
    assert.equal(
      (await request("/api/v1/ingest", prod, ingestRequest({ site: "FC1", host: "ws-1" }))).status,
      200,
    );
    const staging = await agent("FC1", "ws-2", "staging");
    const refused = await request(
      "/api/v1/ingest",
      staging,
      ingestRequest({ site: "FC1", host: "ws-2" }),
    );
    assert.equal(refused.status, 403);
    assert.equal(
      (await refused.json()).error,
      'Site "FC1" belongs to environment "prod": agent token "ws-2" is of "staging"',
    );
    // A token made before environments is tolerated anywhere.
    const legacy = await agent("FC1", "ws-3");
    assert.equal(
      (await request("/api/v1/ingest", legacy, ingestRequest({ site: "FC1", host: "ws-3" })))
        .status,
      200,
    );
  });
});

Deno.test("a token scoped to an environment sees only its sites and none of the fleet-wide routes", async () => {
  await withEnvironments(async ({ request, agent, store }) => {
    for (const [site, host, env] of [["FC1", "ws-1", "prod"], ["STG1", "ws-9", "staging"]]) {
      const token = await agent(site, host, env);
      assert.equal(
        (await request("/api/v1/ingest", token, ingestRequest({ site, host }))).status,
        200,
      );
    }
    const { token } = await store.createToken({
      kind: "api",
      name: "stg",
      role: "admin",
      environments: ["staging"],
      now: T,
    });
    const { agents } = await (await request("/api/v1/agents", token)).json();
    assert.deepEqual(agents.map((a: { site: string }) => a.site), ["STG1"]);
    assert.equal((await request("/api/v1/agents?site=FC1", token)).status, 403);
    assert.equal((await request("/api/v1/config", token)).status, 403);
  });
});

Deno.test("a central document for an environment reaches its agents only, between fleet and site", async () => {
  await withEnvironments(async ({ request, agent, admin }) => {
    const prod = await agent("FC1", "ws-1", "prod");
    const staging = await agent("STG1", "ws-9", "staging");
    const ingest = async (token: string, site: string, host: string) =>
      await (await request("/api/v1/ingest", token, ingestRequest({ site, host }))).json();
    await ingest(prod, "FC1", "ws-1");
    await ingest(staging, "STG1", "ws-9");
    const put = await request("/api/v1/config/documents/env:staging", admin, {
      text: `[webhooks.ops]\nkind = "slack"\nurl = "https://staging.example/hook"\n`,
      why: "staging's own channel",
      rollout: "env:staging",
    }, "PUT");
    assert.equal(put.status, 201, await put.clone().text());
    const toStaging = await ingest(staging, "STG1", "ws-9");
    assert.deepEqual(toStaging.config.layers.map((l: { name: string }) => l.name), [
      "central config v1 (env:staging)",
    ]);
    assert.equal((await ingest(prod, "FC1", "ws-1")).config, undefined);
    const { agents } = await (await request("/api/v1/config/agents", admin)).json();
    assert.deepEqual(
      agents.map((a: { site: string; desired: number | null }) => [a.site, a.desired]),
      [["FC1", null], ["STG1", 1]],
    );
    // All four documents of an agent: the answer still parses as an agent reads it.
    for (const scope of ["fleet", "site:STG1", "agent:STG1%2Fws-9"]) {
      const saved = await request(`/api/v1/config/documents/${scope}`, admin, {
        text: `[scripts.s${scope.length}]\ncommand = "sleep 60"\n`,
        why: scope,
      }, "PUT");
      assert.equal(saved.status, 201, await saved.clone().text());
    }
    const answer = ingestResponseSchema.parse(await ingest(staging, "STG1", "ws-9"));
    assert.deepEqual(answer.config?.layers.map((l) => l.name), [
      "central config v4 (fleet)",
      "central config v4 (env:staging)",
      "central config v4 (site:STG1)",
      "central config v4 (agent:STG1/ws-9)",
    ]);
  });
});
