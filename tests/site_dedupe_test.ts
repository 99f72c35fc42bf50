/**
 * Site-scope dedupe end to end: a real collector on a loopback port and two
 * in-process agents of one site relaying the same post to a webhook with
 * `dedupe_scope = "site"`: one queues it, the other is told it is a
 * duplicate; with the collector unreachable an agent falls back to its own
 * dedupe.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Agent, startAgent } from "../agent/mod.ts";
import { parseConfig as parseAgentConfig } from "../agent/config/mod.ts";
import { createApp } from "../collector/mod.ts";
import { parseConfig as parseCollectorConfig } from "../collector/config/mod.ts";
import { Store } from "../collector/store/mod.ts";
import { tempDir } from "./_helpers.ts";

Deno.test("two agents of a site relaying the same post to a site-scope webhook queue it once", async () => {
  await using dir = await tempDir();
  const kv = await Deno.openKv(join(dir.path, "collector.kv"));
  const store = new Store(kv);
  const app = createApp({
    store,
    config: parseCollectorConfig("", { path: join(dir.path, "collector.toml"), vars: {} }),
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  // The webhook's receiver: every post is refused (delivery is not under test here).
  const receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("no", { status: 503 }),
  );
  let cut = false;
  const cuttable: typeof fetch = (input, init) =>
    cut && String(input).includes(`:${server.addr.port}/`)
      ? Promise.reject(new TypeError("fetch failed: network cut by the test"))
      : fetch(input, init);
  const agents: Agent[] = [];
  try {
    for (const host of ["ws-01", "ws-07"]) {
      const { token } = await store.createToken({
        kind: "agent",
        name: `bfi4-${host}`,
        site: "BFI4",
        now: Date.now(),
      });
      const agentDir = join(dir.path, host);
      await Deno.mkdir(agentDir);
      const text = [
        "[agent]",
        'site = "BFI4"',
        `host = "${host}"`,
        `data_dir = ${JSON.stringify(agentDir)}`,
        "api_port = 0",
        "[webhooks.dock]",
        'kind = "slack"',
        `url = "http://127.0.0.1:${receiver.addr.port}/hook"`,
        'dedupe_scope = "site"',
        "[collector]",
        `url = "http://127.0.0.1:${server.addr.port}/"`,
        `token = "${token}"`,
        "",
      ].join("\n");
      const config = parseAgentConfig(text, { path: join(agentDir, "scriptmon.toml"), vars: {} });
      assert.equal(config.webhooks.dock.dedupeScope, "site");
      agents.push(await startAgent({ config, watch: false, fetch: cuttable }));
    }
    const [a, b] = agents;
    const post = JSON.stringify({ text: "dock 4 jammed" });
    const first = await a.notifier.relay("dock", post, "application/json");
    const second = await b.notifier.relay("dock", post, "application/json");
    assert.equal(first.duplicate, false);
    assert.equal(second.duplicate, true);
    assert.equal((await b.notifier.list({})).length, 0, "nothing queued on the second agent");

    // The collector away: each agent deduplicates on its own.
    cut = true;
    const other = JSON.stringify({ text: "dock 5 jammed" });
    assert.equal((await a.notifier.relay("dock", other, "application/json")).duplicate, false);
    assert.equal((await b.notifier.relay("dock", other, "application/json")).duplicate, false);
    assert.equal((await b.notifier.relay("dock", other, "application/json")).duplicate, true);
    // The relay's answer says so.
    const answer = await fetch(`http://127.0.0.1:${a.apiPort}/relay/dock`, {
      method: "POST",
      body: JSON.stringify({ text: "dock 6 jammed" }),
    });
    assert.equal(answer.status, 202);
    const said = await answer.json();
    assert.equal(said.dedupe, "agent");
    assert.match(said.warning, /collector could not be reached: deduplicated on this agent only/);

    // The collector back: site-wide again, and the answer no longer warns.
    cut = false;
    const again = await a.notifier.relay("dock", JSON.stringify({ text: "dock 7" }), "text/plain");
    assert.deepEqual([again.duplicate, again.dedupe], [false, undefined]);
  } finally {
    for (const agent of agents) await agent.shutdown();
    await server.shutdown();
    await receiver.shutdown();
    kv.close();
  }
});
