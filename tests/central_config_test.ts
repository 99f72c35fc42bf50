/**
 * Central config end to end: a collector process, three agent processes at
 * two sites, chat webhooks stood in for by recording servers. Webhooks set at
 * the collector reach the agents through their ingest answers; a change is
 * rolled out to one agent, then its site; a bad edit is refused with its
 * line; a rollback; an agent that was away gets the latest version when it
 * returns (and starts with its last one while the collector is away); every
 * change is on the audit trail.
 */
import assert from "node:assert/strict";
import { Fleet } from "./_fleet.ts";
import { AgentProcess } from "./_agent_process.ts";
import { Recorder } from "./_recorder.ts";
import { until } from "./_helpers.ts";

interface AgentRow {
  site: string;
  host: string;
  desired: number | null;
  running: number | null;
  refused: { version: number; message: string } | null;
}

const SLEEPER = `[scripts.sleeper]\ncommand = ["sleep", "600"]\n`;

function webhook(url: string): string {
  return `# the ops channel\n[webhooks.ops]\nkind = "slack"\nurl = "${url}"\n`;
}

/** Relays one post through the agent's local API; returns its message id. */
async function relay(agent: AgentProcess, text: string): Promise<Response> {
  const port = await agent.ready();
  return await fetch(`http://127.0.0.1:${port}/relay/ops`, {
    method: "POST",
    body: JSON.stringify({ text }),
  });
}

Deno.test({
  name: "central config: webhooks set at the collector reach three agents at two sites, " +
    "roll out to one agent then its site, refuse a bad edit, roll back, and reach an agent " +
    "that was away",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  await using fleet = await Fleet.start();
  await using first = new Recorder();
  await using second = new Recorder();
  const configs = {
    a: await fleet.agentConfig("FC1", "ws-1", SLEEPER),
    b: await fleet.agentConfig("FC1", "ws-2", SLEEPER),
    c: await fleet.agentConfig("FC2", "ws-3", SLEEPER),
  };
  const admin = await fleet.collector.apiToken("config-admin", "admin");
  const api = (path: string, init: RequestInit = {}) =>
    fetch(new URL(path, fleet.collector.url), {
      ...init,
      headers: { authorization: `Bearer ${admin}`, ...init.headers },
    });
  const getJson = async <T>(path: string): Promise<T> => {
    const res = await api(path);
    assert.equal(res.status, 200, path);
    return await res.json() as T;
  };
  let c = await fleet.startAgent(configs.c);
  const a = await fleet.startAgent(configs.a);
  const b = await fleet.startAgent(configs.b);

  const put = async (scope: string, body: Record<string, unknown>) => {
    const res = await api(`/api/v1/config/documents/${encodeURIComponent(scope)}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  const post = async (path: string, body: Record<string, unknown>) => {
    const res = await api(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  const rows = async () => (await getJson<{ agents: AgentRow[] }>("/api/v1/config/agents")).agents;
  const runningOf = async (host: string) =>
    (await rows()).find((r) => r.host === host)?.running ?? null;
  const allRun = (version: number, hosts: string[]) =>
    until(`${hosts.join(", ")} on config v${version}`, async () => {
      const found = await rows();
      return hosts.every((h) => found.find((r) => r.host === h)?.running === version)
        ? found
        : undefined;
    });

  await t.step("a webhook set for the fleet reaches every agent; posts go to it", async () => {
    const saved = await put("fleet", { text: webhook(first.url()), why: "ops channel" });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
    assert.equal(saved.body.version.version, 1);
    // Stored sealed: the URL is never shown back.
    const doc = await getJson<{ text: string }>("/api/v1/config/documents/fleet");
    assert.ok(!doc.text.includes(first.url()), doc.text);
    assert.match(doc.text, /^url = "enc:v1:/m);
    await allRun(1, ["ws-1", "ws-2", "ws-3"]);
    for (const agent of [a, b, c]) assert.equal((await relay(agent, "dock 4 open")).status, 202);
    await first.received(3);
    assert.equal((await a.status()).agent.central?.version, 1);
  });

  await t.step("a changed URL reaches all three; their next posts go to the new one", async () => {
    const saved = await put("fleet", { text: webhook(second.url()), why: "moved to Workflows" });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
    assert.match(saved.body.diff, /^-url = "enc:v1:/m);
    await allRun(2, ["ws-1", "ws-2", "ws-3"]);
    for (const agent of [a, b, c]) assert.equal((await relay(agent, "dock 5 open")).status, 202);
    await second.received(3);
    assert.equal(first.requests.length, 3);
  });

  await t.step("a bad edit is refused with its document and line; nothing changes", async () => {
    const text = `${webhook(second.url())}\n[scripts.rates]\ncommand = "rates"\n` +
      `[scripts.rates.restart]\nmax_delay = "soon"\n`;
    const refused = await put("site:FC1", { text, why: "a typo" });
    assert.equal(refused.status, 422);
    assert.deepEqual(
      refused.body.issues.map((i: { file: string; line: number; path: string }) =>
        `${i.file}:${i.line}:${i.path}`
      ),
      ["site:FC1:9:scripts.rates.restart.max_delay"],
    );
    const pinned = await put("site:FC1", { text: `[agent]\nsite = "X"\n`, why: "no" });
    assert.equal(pinned.status, 422);
    assert.match(pinned.body.issues[0].message, /\[agent\] is kept by each agent's own config/);
    assert.equal((await getJson<{ head: number }>("/api/v1/config")).head, 2);
  });

  await t.step("a site change goes to one agent first, then the whole site", async () => {
    const text = `[scripts.rates]\ncommand = ["sleep", "601"]\n`;
    const saved = await put("site:FC1", { text, why: "new watcher", rollout: "agent:FC1/ws-1" });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
    await allRun(3, ["ws-1"]);
    await a.running("sleeper", "rates");
    assert.equal(await runningOf("ws-2"), 2);
    assert.equal(await runningOf("ws-3"), 2);
    const promoted = await post("/api/v1/config/versions/3/rollout", { to: "site:FC1" });
    assert.equal(promoted.status, 200, JSON.stringify(promoted.body));
    await allRun(3, ["ws-1", "ws-2"]);
    await b.running("sleeper", "rates");
    // FC2's agent is not reached by FC1's rollout: it stays on v2.
    assert.equal(await runningOf("ws-3"), 2);
    assert.equal((await rows()).find((r) => r.host === "ws-3")?.desired, 2);
  });

  await t.step(
    "an agent refuses a version it cannot load and keeps its last good one",
    async () => {
      const text = `${webhook("${OPS_URL_NOT_SET}")}`;
      const saved = await put("agent:FC2/ws-3", { text, why: "per-desk channel" });
      assert.equal(saved.status, 201, JSON.stringify(saved.body));
      const row = await until("ws-3 refusing v4", async () => {
        const found = (await rows()).find((r) => r.host === "ws-3");
        return found?.refused?.version === 4 ? found : undefined;
      });
      assert.equal(row.running, 2);
      assert.match(row.refused!.message, /OPS_URL_NOT_SET/);
      assert.equal((await relay(c, "still here")).status, 202);
      await second.received(4);
      const removed = await api("/api/v1/config/documents/agent:FC2%2Fws-3", {
        method: "DELETE",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ why: "back to the site's" }),
      });
      assert.equal(removed.status, 201);
      await allRun(5, ["ws-1", "ws-2", "ws-3"]);
    },
  );

  await t.step("a rollback restores version 1's documents as a new version", async () => {
    const back = await post("/api/v1/config/rollback", { to: 1, why: "Workflows is down" });
    assert.equal(back.status, 201, JSON.stringify(back.body));
    assert.equal(back.body.version.version, 6);
    assert.deepEqual(back.body.version.changed.sort(), ["fleet", "site:FC1"]);
    await allRun(6, ["ws-1", "ws-2", "ws-3"]);
    for (const agent of [a, b, c]) assert.equal((await relay(agent, "rolled back")).status, 202);
    await first.received(6);
    // The site's script went with the rollback.
    await until("rates stopped on ws-1", async () => {
      const { scripts } = await a.status();
      return scripts.some((s) => s.name === "rates") ? undefined : true;
    });
  });

  await t.step("an agent away during a change gets it when it returns", async () => {
    await c[Symbol.asyncDispose]();
    fleet.agents.splice(fleet.agents.indexOf(c), 1);
    const saved = await put("fleet", { text: webhook(second.url()), why: "Workflows is back" });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
    await allRun(7, ["ws-1", "ws-2"]);
    assert.equal(await runningOf("ws-3"), 6);
    c = await fleet.startAgent(configs.c);
    await allRun(7, ["ws-3"]);
    assert.equal((await relay(c, "back")).status, 202);
    await second.received(5);
  });

  await t.step("with the collector away, an agent starts with its last version", async () => {
    await c[Symbol.asyncDispose]();
    fleet.agents.splice(fleet.agents.indexOf(c), 1);
    await fleet.collector.stop();
    c = await fleet.startAgent(configs.c);
    assert.equal((await c.status()).agent.central?.version, 7);
    assert.equal((await relay(c, "collector away")).status, 202);
    await second.received(6);
    await fleet.collector.start();
  });

  await t.step("the audit trail holds every change", async () => {
    const { entries } = await getJson<
      { entries: { action: string; target: string; result: string }[] }
    >("/api/v1/audit?limit=100");
    const changes = entries.filter((e) => e.action.startsWith("config."))
      .map((e) => `${e.action} ${e.target} ${e.result}`).reverse();
    assert.deepEqual(changes, [
      "config.edit fleet v1 ok",
      "config.edit fleet v2 ok",
      "config.edit site:FC1 refused",
      "config.edit site:FC1 refused",
      "config.edit site:FC1 v3 ok",
      "config.rollout v3 ok",
      "config.edit agent:FC2/ws-3 v4 ok",
      "config.delete agent:FC2/ws-3 v5 ok",
      "config.rollback v6 ok",
      "config.edit fleet v7 ok",
    ]);
    const versions = await getJson<
      { versions: { version: number; by: string; why: string }[] }
    >(
      "/api/v1/config/versions",
    );
    assert.deepEqual(versions.versions.map((v) => `${v.version} ${v.why}`), [
      "7 Workflows is back",
      "6 Workflows is down",
      "5 back to the site's",
      "4 per-desk channel",
      "3 new watcher",
      "2 moved to Workflows",
      "1 ops channel",
    ]);
    assert.ok(
      versions.versions.every((v) => v.by === "api-token:config-admin"),
      versions.versions[0].by,
    );
  });
});
