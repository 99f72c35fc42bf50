import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { parseConfig } from "../config/load.ts";
import { Store } from "../store/store.ts";
import { CentralConfig, CentralStore } from "../central/mod.ts";
import { checkConfigLayers } from "../../shared/agent_config/mod.ts";
import { generateKey, parseKey } from "../../shared/config/secrets.ts";
import { ingestRequest } from "../_testing.ts";
import { AGENT_FEATURES_HEADER } from "../../shared/protocol.ts";

interface Fixture {
  api(path: string, init?: { method?: string; body?: unknown; token?: string }): Promise<Response>;
  agentToken(site: string): Promise<string>;
  viewerToken: string;
  hook: { url: string; texts: string[] };
}

async function withFixture(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const texts: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    texts.push((await req.json()).text);
    return new Response("ok");
  });
  const t = Date.parse("2026-12-01T12:00:00Z");
  const clock = { now: () => t, sleep: () => Promise.resolve() };
  const config = parseConfig(`[collector]\n`, { path: "/tmp/collector.toml", vars: {} });
  const store = new Store(kv);
  const central = new CentralConfig({
    store: new CentralStore(kv),
    key: parseKey(generateKey(), "test"),
    clock,
    check: (layers) => checkConfigLayers(layers),
  });
  const app = createApp({ store, config, clock, central });
  const admin = (await store.createToken({ kind: "api", name: "ann", role: "admin", now: t }))
    .token;
  const viewer = (await store.createToken({ kind: "api", name: "vic", role: "viewer", now: t }))
    .token;
  try {
    await fn({
      viewerToken: viewer,
      hook: { url: `http://127.0.0.1:${server.addr.port}/hook`, texts },
      agentToken: async (site) =>
        (await store.createToken({ kind: "agent", name: `a-${site}`, site, now: t })).token,
      api: (path, init = {}) =>
        Promise.resolve(app.request(path, {
          method: init.method ?? "GET",
          headers: {
            authorization: `Bearer ${init.token ?? admin}`,
            "content-type": "application/json",
            [AGENT_FEATURES_HEADER]: "logs,central-config",
          },
          ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        })),
    });
  } finally {
    await server.shutdown();
    kv.close();
  }
}

const slack = (url: string) => `[webhooks.ops]\nkind = "slack"\nurl = "${url}"\n`;

Deno.test("a document is saved as version 1 with who and why, its URL sealed", async () => {
  await withFixture(async ({ api }) => {
    const res = await api("/api/v1/config/documents/fleet", {
      method: "PUT",
      body: { text: slack("https://hooks.slack.com/services/T0/B0/x"), why: "ops channel" },
    });
    assert.equal(res.status, 201);
    const { version, diff } = await res.json();
    assert.equal(version.version, 1);
    assert.equal(version.by, "api-token:ann");
    assert.equal(version.why, "ops channel");
    assert.equal(version.rollout, "fleet");
    assert.ok(!diff.includes("hooks.slack.com"), diff);
    const doc = await (await api("/api/v1/config/documents/fleet")).json();
    assert.match(doc.text, /^url = "enc:v1:[A-Za-z0-9_-]+"$/m);
    const hooks = await (await api("/api/v1/config/webhooks")).json();
    assert.deepEqual(hooks.webhooks, [
      { scope: "fleet", name: "ops", kind: "slack", shownUrl: "https://hooks.slack.com/…" },
    ]);
  });
});

Deno.test("a check shows the diff and every problem with its document and line", async () => {
  await withFixture(async ({ api }) => {
    const res = await api("/api/v1/config/check", {
      method: "POST",
      body: {
        scope: "site:FC1",
        text: `[scripts.rates]\ncommand = "python3 rates.py"\nstop_timeout = "later"\n`,
      },
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.ok, false);
    assert.equal(body.issues.length, 1);
    assert.equal(body.issues[0].file, "site:FC1");
    assert.equal(body.issues[0].line, 3);
    assert.equal(body.issues[0].path, "scripts.rates.stop_timeout");
    assert.match(body.diff, /^\+stop_timeout = "later"$/m);
    assert.equal((await (await api("/api/v1/config")).json()).head, 0);
  });
});

Deno.test("a change without a why, or on a stale base, is refused", async () => {
  await withFixture(async ({ api }) => {
    const noWhy = await api("/api/v1/config/documents/fleet", {
      method: "PUT",
      body: { text: slack("https://a.example/x"), why: " " },
    });
    assert.equal(noWhy.status, 400);
    assert.match((await noWhy.json()).error, /^why: /);
    await api("/api/v1/config/documents/fleet", {
      method: "PUT",
      body: { text: slack("https://a.example/x"), why: "one" },
    });
    const stale = await api("/api/v1/config/documents/fleet", {
      method: "PUT",
      body: { text: slack("https://b.example/x"), why: "two", base: 0 },
    });
    assert.equal(stale.status, 409);
    assert.equal(
      (await stale.json()).error,
      "The config changed since version 0: the latest is 1; look at it and try again",
    );
  });
});

Deno.test("a viewer may not read or change central config", async () => {
  await withFixture(async ({ api, viewerToken }) => {
    assert.equal((await api("/api/v1/config", { token: viewerToken })).status, 403);
    const put = await api("/api/v1/config/documents/fleet", {
      method: "PUT",
      token: viewerToken,
      body: { text: "", why: "x" },
    });
    assert.equal(put.status, 403);
  });
});

Deno.test("the ingest answer hands an agent its version once; it reports what it runs", async () => {
  await withFixture(async ({ api, agentToken }) => {
    await api("/api/v1/config/documents/fleet", {
      method: "PUT",
      body: { text: slack("https://a.example/x"), why: "one" },
    });
    await api("/api/v1/config/documents/site:FC1", {
      method: "PUT",
      body: { text: `[scripts.rates]\ncommand = "rates"\n`, why: "two" },
    });
    const token = await agentToken("FC1");
    const ingest = async (config?: unknown) =>
      await (await api("/api/v1/ingest", {
        method: "POST",
        token,
        body: { ...ingestRequest({ site: "FC1", host: "ws-1" }), ...(config ? { config } : {}) },
      })).json();
    const first = await ingest();
    assert.equal(first.config.version, 2);
    assert.deepEqual(first.config.layers.map((l: { name: string }) => l.name), [
      "central config v2 (fleet)",
      "central config v2 (site:FC1)",
    ]);
    // Unsealed for the agent only.
    assert.match(first.config.layers[0].text, /url = "https:\/\/a\.example\/x"/);
    assert.equal((await ingest({ version: 2 })).config, undefined);
    assert.equal((await ingest({ version: 1, pending: 2 })).config, undefined, "it has it");
    const refused = await ingest({ version: 1, refused: { version: 2, message: "bad" } });
    assert.equal(refused.config, undefined);
    const { agents } = await (await api("/api/v1/config/agents")).json();
    assert.deepEqual(agents.map((a: Record<string, unknown>) => [a.host, a.desired, a.running]), [
      ["ws-1", 2, 1],
    ]);
    assert.deepEqual(agents[0].refused, { version: 2, message: "bad" });
  });
});

Deno.test("a webhook's URL is changed in its table, the rest of the document kept", async () => {
  await withFixture(async ({ api }) => {
    const text = `# ops\n${
      slack("https://a.example/x")
    }max_age = "1h"\n\n[scripts.a]\ncommand = "a"\n`;
    await api("/api/v1/config/documents/fleet", { method: "PUT", body: { text, why: "one" } });
    const res = await api("/api/v1/config/webhooks/fleet/ops", {
      method: "PUT",
      body: { url: "https://b.example/y", why: "moved" },
    });
    assert.equal(res.status, 201);
    const { diff } = await res.json();
    assert.deepEqual(diff.split("\n").filter((l: string) => /^[-+][^-+]/.test(l)).length, 2);
    const doc = await (await api("/api/v1/config/documents/fleet")).json();
    assert.ok(doc.text.startsWith('# ops\n[webhooks.ops]\nkind = "slack"\nurl = "enc:v1:'));
    assert.ok(doc.text.endsWith('max_age = "1h"\n\n[scripts.a]\ncommand = "a"\n'));
    const bad = await api("/api/v1/config/webhooks/fleet/ops", {
      method: "PUT",
      body: { url: "not a url", why: "typo" },
    });
    assert.equal(bad.status, 422);
    assert.equal((await bad.json()).issues[0].path, "webhooks.ops.url");
  });
});

Deno.test("send a test message: the webhook gets one, and the answer is shown", async () => {
  await withFixture(async ({ api, hook }) => {
    await api("/api/v1/config/documents/site:FC1", {
      method: "PUT",
      body: { text: slack(hook.url), why: "one" },
    });
    const res = await api("/api/v1/config/webhooks/site:FC1/ops/test", { method: "POST" });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).ok, true);
    assert.deepEqual(hook.texts, [
      '[TEST] scriptmon test message from the collector (api-token:ann) to "ops" of the site:FC1 config',
    ]);
    const missing = await api("/api/v1/config/webhooks/site:FC1/nope/test", { method: "POST" });
    assert.equal(missing.status, 409);
    assert.equal((await missing.json()).error, 'No webhook "nope" in the site:FC1 document');
  });
});

Deno.test("a rollback restores an earlier version's documents; the diff says what changed", async () => {
  await withFixture(async ({ api }) => {
    for (const [url, why] of [["https://a.example/x", "one"], ["https://b.example/x", "two"]]) {
      await api("/api/v1/config/documents/fleet", {
        method: "PUT",
        body: { text: slack(url), why },
      });
    }
    await api("/api/v1/config/documents/site:FC1", {
      method: "PUT",
      body: { text: `[scripts.a]\ncommand = "a"\n`, why: "three" },
    });
    const res = await api("/api/v1/config/rollback", {
      method: "POST",
      body: { to: 1, why: "back" },
    });
    assert.equal(res.status, 201);
    const { version } = await res.json();
    assert.deepEqual([version.version, version.action, version.rollbackTo], [4, "rollback", 1]);
    assert.deepEqual(version.changed.sort(), ["fleet", "site:FC1"]);
    const shown = await (await api("/api/v1/config/versions/4")).json();
    assert.match(shown.diff, /^--- site:FC1 v3$/m);
    assert.match(shown.diff, /^-command = "a"$/m);
    const again = await api("/api/v1/config/rollback", {
      method: "POST",
      body: { to: 4, why: "x" },
    });
    assert.equal(again.status, 409);
  });
});

Deno.test("removing a document that a narrower one needs is refused with the reason", async () => {
  await withFixture(async ({ api }) => {
    await api("/api/v1/config/documents/fleet", {
      method: "PUT",
      body: { text: slack("https://a.example/x"), why: "ops" },
    });
    await api("/api/v1/config/documents/site:FC1", {
      method: "PUT",
      body: { text: `[[notify.routes]]\nwebhooks = ["ops"]\n`, why: "route" },
    });
    const res = await api("/api/v1/config/documents/fleet", {
      method: "DELETE",
      body: { why: "tidy" },
    });
    assert.equal(res.status, 422);
    const { issues } = await res.json();
    assert.equal(issues[0].file, "site:FC1");
    assert.match(issues[0].message, /ops/);
    assert.equal((await (await api("/api/v1/config")).json()).head, 2);
  });
});

Deno.test("a webhook URL from the agent's variable is checked as the agent will see it", async () => {
  await withFixture(async ({ api }) => {
    const text = `[webhooks.ops]\nkind = "slack"\nurl = "\${OPS_URL}"\n\n` +
      `[[notify.routes]]\nwebhooks = ["ops"]\n`;
    const res = await api("/api/v1/config/documents/fleet", {
      method: "PUT",
      body: { text, why: "from each agent's environment" },
    });
    assert.equal(res.status, 201, await res.clone().text());
    const hooks = await (await api("/api/v1/config/webhooks")).json();
    assert.equal(hooks.webhooks[0].shownUrl, "\${OPS_URL}");
  });
});

Deno.test("a document too large is refused with its size, nothing saved", async () => {
  await withFixture(async ({ api }) => {
    const text = `# ${"x".repeat(61_000)}\n`;
    const res = await api("/api/v1/config/documents/fleet", {
      method: "PUT",
      body: { text, why: "big" },
    });
    assert.equal(res.status, 422);
    assert.equal(
      (await res.json()).issues[0].message,
      "the document is 61003 bytes; at most 60000 are accepted",
    );
  });
});
