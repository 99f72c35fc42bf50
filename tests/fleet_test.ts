/**
 * The fleet end to end on loopback: real collector and agent processes.
 * A restart command round trip, offline detection, and rejected tokens and bodies.
 */
import assert from "node:assert/strict";
import { fixtureScript } from "./_agent_process.ts";
import { until } from "./_helpers.ts";
import { Fleet } from "./_fleet.ts";

interface Row {
  site: string;
  host: string;
  script: string;
  state: string;
  agentOnline: boolean;
}

Deno.test("a restart command from the API restarts the script on its agent and comes back done, ok", async () => {
  await using fleet = await Fleet.start();
  const a1 = await fleet.startAgent(
    await fleet.agentConfig("SITEA", "a1", fixtureScript("hang", "print_hang.ts", "1")),
  );
  const b1 = await fleet.startAgent(
    await fleet.agentConfig("SITEB", "b1", fixtureScript("hang", "print_hang.ts", "1")),
  );
  const before = (await a1.running("hang")).hang.pid;
  const otherBefore = (await b1.running("hang")).hang.pid;
  await until("a1's hang running at the collector", async () => {
    const { scripts } = await fleet.getJson<{ scripts: Row[] }>("/api/v1/scripts?host=a1");
    return scripts.some((s) => s.script === "hang" && s.state === "running");
  });

  const posted = await fleet.api("/api/v1/agents/SITEA/a1/scripts/hang/restart", {
    method: "POST",
  });
  assert.equal(posted.status, 202);
  const { id } = await posted.json();
  const command = await until("the restart command done", async () => {
    const { command } = await fleet.getJson<
      { command: { state: string; result: { ok: boolean } | null } }
    >(`/api/v1/agents/SITEA/a1/commands/${id}`);
    return command.state === "done" ? command : undefined;
  });
  assert.equal(command.result?.ok, true, JSON.stringify(command));
  const after = await until("hang running with a new pid", async () => {
    const { hang } = await a1.running("hang");
    return hang.pid !== before ? hang.pid : undefined;
  });
  assert.notEqual(after, before);
  assert.equal(
    (await b1.running("hang")).hang.pid,
    otherBefore,
    "the other site's agent untouched",
  );
});

Deno.test("an agent killed with SIGKILL is listed offline within offline_after, online again once restarted", async () => {
  await using fleet = await Fleet.start();
  const config = await fleet.agentConfig(
    "SITEA",
    "a2",
    fixtureScript("hang", "print_hang.ts", "1"),
  );
  const agent = await fleet.startAgent(config);
  await until("a2 online", async () => await fleet.agentOnline("SITEA", "a2") === true);

  agent.child.kill("SIGKILL");
  await agent.child.status;
  const started = Date.now();
  await until("a2 offline", async () => await fleet.agentOnline("SITEA", "a2") === false, 15_000);
  assert.ok(Date.now() - started < 15_000);

  await fleet.startAgent(config);
  await until("a2 online again", async () => await fleet.agentOnline("SITEA", "a2") === true);
});

Deno.test("ingest rejects a wrong token with 401 and garbage JSON with 400 naming the problem", async () => {
  await using fleet = await Fleet.start();
  const config = await fleet.agentConfig("SITEB", "b2", "");
  const token = /token = "([^"]+)"/.exec(await Deno.readTextFile(config))![1];
  const ingest = (auth: string, body: string) =>
    fetch(new URL("/api/v1/ingest", fleet.collector.url), {
      method: "POST",
      headers: { authorization: `Bearer ${auth}`, "content-type": "application/json" },
      body,
    });

  const wrong = await ingest("smag_" + "x".repeat(43), "{}");
  assert.equal(wrong.status, 401, await wrong.clone().text());
  await wrong.body?.cancel();

  const garbage = await ingest(token, "{not json");
  assert.equal(garbage.status, 400);
  assert.match((await garbage.json()).error, /^body: expected JSON, got text that does not parse/);

  const shape = await ingest(token, JSON.stringify({ agent: 42 }));
  assert.equal(shape.status, 400);
  assert.equal((await shape.json()).error, "protocol: expected 1, got nothing");

  const api = await fetch(new URL("/api/v1/agents", fleet.collector.url), {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(api.status, 401, "an agent token is not an API token");
  await api.body?.cancel();
});
