/**
 * Notifications end to end: a real agent, a local server standing in for
 * the chat provider, relayed posts and the agent's own alerts.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { type Agent, startAgent } from "../agent/mod.ts";
import { loadConfig } from "../agent/config/mod.ts";
import { agentCli, fixtureScript, writeConfig } from "./_agent_process.ts";
import { tempDir, until } from "./_helpers.ts";
import { Recorder } from "./_recorder.ts";

async function withAgent(
  toml: string,
  fn: (agent: Agent, base: string, configPath: string) => Promise<void>,
) {
  await using dir = await tempDir();
  const path = await writeConfig(dir.path, toml);
  const agent = await startAgent({ config: await loadConfig(path), watch: false });
  try {
    await fn(agent, `http://127.0.0.1:${agent.apiPort}`, path);
  } finally {
    await agent.shutdown();
  }
}

const slackHook = (name: string, url: string) =>
  `[webhooks.${name}]\nkind = "slack"\nurl = "${url}"\n\n`;

Deno.test("a relayed post is delivered once, as sent; the same post again is a duplicate", async () => {
  await using slack = new Recorder();
  await withAgent(slackHook("ops", slack.url()), async (_agent, base) => {
    const post = (body: string) =>
      fetch(`${base}/relay/ops`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
    const first = await post('{"text": "dock 4: rate 120/h"}');
    assert.equal(first.status, 202);
    const { id } = await first.json();
    const again = await post('{ "text":"dock 4: rate 120/h" }');
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), { id, duplicate: true });
    await slack.received(1);
    assert.equal(slack.requests[0].body, '{"text": "dock 4: rate 120/h"}');
    assert.equal(slack.requests[0].headers["content-type"], "application/json");

    const unknown = await fetch(`${base}/relay/nope`, { method: "POST", body: "{}" });
    assert.equal(unknown.status, 404);
    assert.deepEqual((await unknown.json()).webhooks, ["ops"]);
    const huge = await fetch(`${base}/relay/ops`, { method: "POST", body: "x".repeat(70_000) });
    assert.equal(huge.status, 413);
    await huge.body?.cancel();
  });
});

Deno.test("posts a script names (?script= or X-Scriptmon-Script) are counted for it in status", async () => {
  await using slack = new Recorder();
  const script = fixtureScript("rates", "print_hang.ts", "1");
  await withAgent(slackHook("ops", slack.url()) + script, async (agent, base) => {
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      fetch(`${base}${path}`, { method: "POST", body, headers }).then((r) => r.body?.cancel());
    await post("/relay/ops?script=rates", '{"text": "one"}');
    await post("/relay/ops", '{"text": "two"}', { "x-scriptmon-script": "rates" });
    await post("/relay/ops", '{"text": "three"}');
    await post("/relay/ops?script=nobody", '{"text": "four"}');
    await slack.received(4);
    assert.equal(agent.supervisor.statusOf("rates").posted, 2);
  });
});

Deno.test("three processes relaying the same 500 messages deliver 500", async () => {
  await using slack = new Recorder();
  await withAgent(slackHook("ops", slack.url()), async (agent, base) => {
    const client = resolve(import.meta.dirname!, "fixtures", "relay_client.ts");
    const runs = await Promise.all(
      Array.from({ length: 3 }, () =>
        new Deno.Command(Deno.execPath(), {
          args: ["run", "--allow-net", client, `${base}/relay/ops`, "500"],
          stdout: "piped",
        }).output()),
    );
    const answers = runs.map((r) => JSON.parse(new TextDecoder().decode(r.stdout)));
    const queued = answers.reduce((n, a) => n + (a["202"] ?? 0), 0);
    const duplicates = answers.reduce((n, a) => n + (a["200"] ?? 0), 0);
    assert.deepEqual([queued, duplicates], [500, 1000]);
    await agent.notifier.outbox.idle();
    const texts = slack.requests.map((r) => JSON.parse(r.body).text);
    assert.equal(texts.length, 500);
    assert.equal(new Set(texts).size, 500);
  });
});

Deno.test("while the receiver refuses connections messages wait, then arrive in order", async () => {
  // Reserve a port, then close it: connections are refused until the recorder opens it.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const url = `http://127.0.0.1:${port}/hook`;
  await withAgent(slackHook("ops", url), async (agent, base) => {
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${base}/relay/ops`, {
        method: "POST",
        body: JSON.stringify({ text: `in order ${i}` }),
      });
      assert.equal(res.status, 202);
      await res.body?.cancel();
    }
    await until(
      "a failed attempt",
      async () => (await agent.notifier.list({ state: "retrying" })).length > 0,
    );
    await using slack = new Recorder(port);
    await slack.received(10, 60_000);
    assert.deepEqual(
      slack.requests.map((r) => JSON.parse(r.body).text),
      Array.from({ length: 10 }, (_, i) => `in order ${i}`),
    );
  });
});

Deno.test("a crash-looping script raises one alert on the webhook, recorded in the history", async () => {
  await using slack = new Recorder();
  const toml = slackHook("ops", slack.url()) +
    `[notify]\ngroup_wait = "0s"\n[[notify.routes]]\nwebhooks = ["ops"]\n\n` +
    fixtureScript("rates", "exit_after.ts", "0", "3") +
    `[scripts.rates.restart]\nmin_delay = "10ms"\nmax_delay = "5s"\nmax_restarts = 2\n`;
  await withAgent(toml, async (agent, _base, configPath) => {
    await slack.received(1);
    await agent.notifier.outbox.idle();
    const messages = slack.requests.map((r) => JSON.parse(r.body));
    assert.equal(messages.length, 1, "one alert, not one per crash");
    const [message] = messages;
    assert.match(message.text, /rates is crash-looping on .* \(TEST1\)/);
    assert.match(JSON.stringify(message.blocks), /exiting with 3/, "stderr lines are in the alert");
    const history = await agent.notifier.list({});
    const sent = history.find((m) => m.payload.type === "alert");
    assert.equal(sent?.state, "sent");
    assert.equal(sent?.providerStatus, 200);

    const cli = await agentCli("notifications", "--json", "--config", configPath);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(JSON.parse(cli.stdout)[0].state, "sent");
  });
});

Deno.test("a silence from the CLI keeps an alert from going out and says so in the history", async () => {
  await using slack = new Recorder();
  const toml = slackHook("ops", slack.url()) +
    `[notify]\ngroup_wait = "0s"\n[[notify.routes]]\nwebhooks = ["ops"]\n\n` +
    fixtureScript("rates", "exit_after.ts", "0", "3") +
    `enabled = false\n[scripts.rates.restart]\nmin_delay = "10ms"\nmax_restarts = 2\n`;
  await withAgent(toml, async (agent, _base, configPath) => {
    const added = await agentCli(
      "silence",
      "add",
      "--match",
      "script=rates",
      "--for",
      "1h",
      "--comment",
      "testing",
      "--config",
      configPath,
    );
    assert.equal(added.code, 0, added.stderr);
    await agent.supervisor.get("rates").start();
    await until(
      "a silenced message",
      async () => (await agent.notifier.list({ state: "silenced" })).length > 0,
    );
    const [silenced] = await agent.notifier.list({ state: "silenced" });
    assert.match(silenced.history.at(-1)?.note ?? "", /silenced by s-[0-9a-f]+ until .*: testing/);
    assert.equal(slack.requests.length, 0);
    const list = await agentCli("silence", "list", "--config", configPath);
    assert.match(list.stdout, /script=rates\s+testing/);
  });
});

Deno.test("validate --ping sends a test message to every webhook and reports the answers", async () => {
  await using good = new Recorder();
  await using bad = new Recorder();
  bad.status = 404;
  await using dir = await tempDir();
  const config = await writeConfig(
    dir.path,
    slackHook("good", good.url()) + slackHook("gone", bad.url()),
  );
  const run = await agentCli("validate", "--ping", "--config", config);
  assert.equal(run.code, 1);
  assert.match(run.stdout, /^good\s+slack\s+OK\s/m);
  assert.match(run.stdout, /^gone\s+slack\s+FAILED\s+.*404/m);
  assert.match(JSON.parse(good.requests[0].body).text, /scriptmon test message/);
});
