/**
 * Remote commands end to end: a real in-process agent linked to a stand-in
 * collector that hands out commands in its ingest answers and its long-poll.
 */
import assert from "node:assert/strict";
import { ackOf, allAcked, inAMinute, withLinkedAgent } from "./_testing.ts";
import { until } from "../../tests/_helpers.ts";

Deno.test("a restart command in the ingest answer restarts the script once and is acked", async () => {
  await withLinkedAgent(async (agent, link, collector) => {
    await allAcked(agent, link);
    const before = agent.supervisor.statusOf("s").pid;
    let restarts = 0;
    const off = agent.events.subscribe((e) => {
      if (e.kind === "state" && e.script === "s" && e.reason === "restarting") restarts++;
    });
    // The fake gives it in every answer until the ack: it must still run only once.
    collector.queued = [{
      id: "cmd-1",
      action: "restart",
      script: "s",
      expiresAt: inAMinute(),
      requestedBy: "ops@test",
    }];
    agent.events.append({ kind: "config", reason: "poke an ingest" });
    const ack = await ackOf(collector, "cmd-1");
    off();
    assert.equal(ack.ok, true, ack.message);
    assert.match(ack.message, /^restart s: done, now running$/);
    const after = agent.supervisor.statusOf("s");
    assert.equal(after.state, "running");
    assert.notEqual(after.pid, before);
    assert.equal(restarts, 1);
    await allAcked(agent, link);
  });
});

Deno.test("the long-poll delivers a command promptly, well before the next heartbeat", async () => {
  await withLinkedAgent(async (agent, link, collector) => {
    await allAcked(agent, link);
    await until("a long-poll waiting", () => collector.waiting > 0);
    const sent = Date.now();
    collector.push({
      id: "cmd-2",
      action: "stop",
      script: "s",
      expiresAt: inAMinute(),
      requestedBy: "ops@test",
    });
    const ack = await ackOf(collector, "cmd-2");
    assert.ok(Date.now() - sent < 5000, `acked after ${Date.now() - sent} ms`);
    assert.equal(ack.ok, true, ack.message);
    assert.equal(agent.supervisor.statusOf("s").state, "stopped");
    assert.match(agent.supervisor.statusOf("s").reason!, /remote command from ops@test/);
  }, { heartbeat: "60s" });
});

Deno.test("a logs command is answered with the script's lines and stream marks, and runs nothing", async () => {
  await withLinkedAgent(async (agent, link, collector) => {
    await allAcked(agent, link);
    assert.deepEqual(
      collector.features?.split(","),
      ["logs", "central-config"],
      "the agent announces that it answers logs (and takes central config)",
    );
    const before = agent.supervisor.statusOf("s");
    await until("the fixture's lines in its log", async () => {
      const text = await Deno.readTextFile(agent.supervisor.get("s").logPath).catch(() => "");
      return text.includes("to stderr");
    });
    await until("a long-poll waiting", () => collector.waiting > 0);
    collector.push({
      id: "logs-1",
      action: "logs",
      params: { lines: 10 },
      script: "s",
      expiresAt: inAMinute(),
      requestedBy: "user:vera",
    });
    const ack = await ackOf(collector, "logs-1");
    assert.equal(ack.ok, true, ack.message);
    assert.deepEqual(ack.logs?.lines.map((l) => [l.stream, l.text]), [
      ["stdout", "line 1"],
      ["stderr", "to stderr"],
    ]);
    const after = agent.supervisor.statusOf("s");
    assert.equal(after.pid, before.pid, "nothing restarted");
    collector.push({
      id: "logs-2",
      action: "logs",
      params: { lines: 10, after: ack.logs!.cursor },
      script: "s",
      expiresAt: inAMinute(),
      requestedBy: "user:vera",
    });
    const next = await ackOf(collector, "logs-2");
    assert.deepEqual(next.logs?.lines, [], "nothing new since the cursor");
  }, { heartbeat: "60s" });
});

Deno.test("an expired command or one for an unknown script is acked ok:false and not run", async () => {
  await withLinkedAgent(async (agent, link, collector) => {
    await allAcked(agent, link);
    const before = agent.supervisor.statusOf("s");
    collector.queued = [
      {
        id: "old",
        action: "restart",
        script: "s",
        expiresAt: new Date(Date.now() - 1000).toISOString(),
        requestedBy: "ops@test",
      },
      { id: "typo", action: "stop", script: "nope", expiresAt: inAMinute(), requestedBy: "x" },
    ];
    agent.events.append({ kind: "config", reason: "poke an ingest" });
    const expired = await ackOf(collector, "old");
    const unknown = await ackOf(collector, "typo");
    assert.equal(expired.ok, false);
    assert.match(expired.message, /^not carried out: expired at \d{4}-/);
    assert.equal(unknown.ok, false);
    assert.equal(unknown.message, 'not carried out: no script named "nope" (known: s)');
    const after = agent.supervisor.statusOf("s");
    assert.equal(after.pid, before.pid, "not restarted");
    assert.equal(after.restarts, 0);
  });
});
