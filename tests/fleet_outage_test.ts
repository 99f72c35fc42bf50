/**
 * The collector down for 60 s while three agents (two sites) keep numbering
 * events: once it is back on the same port and data dir, every event each
 * agent numbered is stored exactly once.
 */
import assert from "node:assert/strict";
import type { AgentProcess } from "./_agent_process.ts";
import { fixtureScript } from "./_agent_process.ts";
import { until } from "./_helpers.ts";
import { Fleet } from "./_fleet.ts";

/** The outage: the one fixed wait of these tests. */
const OUTAGE_MS = 60_000;

/** A script that exits 0 every ~500 ms and is restarted at once: a steady stream of events. */
const FLAPPING = fixtureScript("flap", "exit_after.ts", "500", "0") +
  `[scripts.flap.restart]\nmin_delay = "50ms"\nmax_delay = "50ms"\nmultiplier = 1.0\n` +
  `reset_after = "100ms"\nmax_restarts = 100000\nwindow = "1s"\n\n`;

async function link(agent: AgentProcess) {
  const { collector } = (await agent.status()).agent;
  assert.ok(collector !== null, "the agent has a collector link");
  return collector;
}

Deno.test({
  name: "after a 60 s collector outage every event each agent numbered is stored exactly once",
  fn: async () => {
    await using fleet = await Fleet.start();
    const hosts = [["SITEA", "a1"], ["SITEA", "a2"], ["SITEB", "b1"]] as const;
    const agents = await Promise.all(
      hosts.map(async ([site, host]) =>
        await fleet.startAgent(await fleet.agentConfig(site, host, FLAPPING))
      ),
    );
    const before = await Promise.all(
      agents.map((agent) =>
        until("events acked by the collector", async () => {
          const l = await link(agent);
          return l.connected && l.ackedSeq >= 3 ? l.ackedSeq : undefined;
        })
      ),
    );

    await fleet.collector.stop();
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    const during = await Promise.all(agents.map(link));
    for (const [i, l] of during.entries()) {
      assert.equal(l.connected, false, `${hosts[i][1]} noticed the outage`);
      assert.ok(l.pending > 10, `${hosts[i][1]} kept numbering events: ${JSON.stringify(l)}`);
    }
    const numbered = during.map((l) => l.ackedSeq + l.pending);
    await fleet.collector.start();
    const upAt = Date.now();

    // Catching up: the agents' backoff is capped at 15 s (+20 % jitter): allow one full retry.
    await Promise.all(
      agents.map((agent) =>
        until("the link connected again", async () => (await link(agent)).connected, 30_000)
      ),
    );
    const caughtUpMs = Date.now() - upAt;

    // Stop the flapping script through the collector so that the numbering ends.
    await Promise.all(hosts.map(async ([site, host]) => {
      const res = await fleet.api(`/api/v1/agents/${site}/${host}/scripts/flap/stop`, {
        method: "POST",
      });
      assert.equal(res.status, 202);
      const { id } = await res.json();
      const command = await until(`stop done on ${host}`, async () => {
        const { command } = await fleet.getJson<
          { command: { state: string; result: { ok: boolean } | null } }
        >(`/api/v1/agents/${site}/${host}/commands/${id}`);
        return command.state === "done" ? command : undefined;
      });
      assert.equal(command.result?.ok, true, JSON.stringify(command));
    }));

    for (const [i, agent] of agents.entries()) {
      const host = hosts[i][1];
      const { acked, seqs } = await until(`${host}'s events all acked and stable`, async () => {
        const first = await link(agent);
        const seqs = await fleet.eventSeqs(host);
        const second = await link(agent);
        return first.pending === 0 && second.pending === 0 && first.ackedSeq === second.ackedSeq
          ? { acked: second.ackedSeq, seqs }
          : undefined;
      });
      assert.ok(acked >= numbered[i], `${host}: acked ${acked} < numbered ${numbered[i]}`);
      assert.ok(numbered[i] > before[i], `${host} numbered events during the outage`);
      assert.deepEqual(seqs, Array.from({ length: acked }, (_, k) => k + 1), host);
    }
    const { agents: listed } = await fleet.getJson<
      { agents: { host: string; ackedSeq: number }[] }
    >("/api/v1/agents");
    for (const [i, agent] of agents.entries()) {
      const l = await link(agent);
      assert.equal(listed.find((a) => a.host === hosts[i][1])?.ackedSeq, l.ackedSeq);
    }
    console.log(
      `outage ${Date.now() - downAt} ms in all; reconnected ${caughtUpMs} ms after restart; ` +
        `numbered during outage: ${numbered.map((n, i) => n - before[i]).join(", ")}`,
    );
  },
});
