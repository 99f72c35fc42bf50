/**
 * A collector restart is not an outage of the fleet: after the collector was
 * down longer than `offline_after`, an agent that reconnects within
 * `offline_after` of the restart is never declared offline (no log line, no
 * alert, no offline entry), while an agent that is really gone still is, once
 * `offline_after` has passed since the start.
 */
import assert from "node:assert/strict";
import type { AgentProcess } from "./_agent_process.ts";
import { fixtureScript } from "./_agent_process.ts";
import { until } from "./_helpers.ts";
import { Fleet } from "./_fleet.ts";

/** Longer than the agents' longest retry gap (15 s + 20 % jitter), as the default 30s is. */
const OFFLINE_AFTER_MS = 20_000;
/** The collector's outage: long enough that every agent's last report is past offline_after. */
const OUTAGE_MS = OFFLINE_AFTER_MS + 2_000;

async function connected(agent: AgentProcess): Promise<boolean> {
  return (await agent.status()).agent.collector?.connected === true;
}

Deno.test({
  name:
    "after a restart the collector gives agents offline_after to report before it calls them offline",
  fn: async () => {
    await using fleet = await Fleet.start({ offlineAfter: `${OFFLINE_AFTER_MS / 1000}s` });
    const script = fixtureScript("rates", "print_hang.ts", "1");
    const staying = await fleet.startAgent(await fleet.agentConfig("SITEA", "stays", script));
    const leaving = await fleet.startAgent(await fleet.agentConfig("SITEA", "leaves", script));
    await until(
      "both agents connected",
      async () =>
        await connected(staying) && await connected(leaving) &&
        await fleet.agentOnline("SITEA", "leaves") === true,
    );

    await fleet.collector.stop();
    // The second workstation goes away for good while the collector is down.
    await leaving[Symbol.asyncDispose]();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    await fleet.collector.start();
    const startedAt = Date.now();

    await until("the staying agent reconnected", () => connected(staying), 30_000);
    assert.equal(await fleet.agentOnline("SITEA", "stays"), true);
    const leftOffline = await until(
      "the gone agent declared offline",
      async () => await fleet.agentOnline("SITEA", "leaves") === false ? Date.now() : undefined,
      40_000,
    );
    assert.ok(
      leftOffline - startedAt >= OFFLINE_AFTER_MS - 1_000,
      `the gone agent was declared offline ${leftOffline - startedAt} ms after the start`,
    );

    const { alerts } = await fleet.getJson<{ alerts: { rule: string; labels?: unknown }[] }>(
      "/api/v1/alerts",
    );
    const offline = alerts.filter((alert) => alert.rule === "agent-offline");
    assert.ok(offline.every((alert) => !JSON.stringify(alert).includes("stays")), "no alert");
    const log = await fleet.collector.stop();
    assert.doesNotMatch(log, /SITEA\/stays is offline/);
    assert.match(log, /SITEA\/leaves is offline/);
  },
});
