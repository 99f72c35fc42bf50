/**
 * A site singleton end to end with real processes: one collector and two
 * agent processes of one site (different hosts, one agent token each), each
 * configured with the same `singleton = "site"` script. Exactly one copy runs;
 * SIGKILL the agent holding it (the script dies with it) and the other agent
 * runs it once the lease runs out, never two copies at once. Copies are found
 * in /proc by a marker on their command line, sampled every 100 ms.
 */
import assert from "node:assert/strict";
import { platform } from "../agent/platform/mod.ts";
import type { AgentProcess } from "./_agent_process.ts";
import { fixtureScript } from "./_agent_process.ts";
import { Fleet } from "./_fleet.ts";
import { alive, processesWith } from "./_helpers.ts";

const SITE = "SITEL";
const SCRIPT = "report";
const SAMPLE_MS = 100;

/**
 * Samples the marker's processes every 100 ms, asserting never more than one,
 * until `done(pids)` holds; throws after `timeoutMs`. Returns the last sample.
 */
async function sampleUntil(
  marker: string,
  what: string,
  done: (pids: number[]) => boolean,
  timeoutMs: number,
): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = await processesWith(marker);
    assert.ok(pids.length <= 1, `two copies of ${SCRIPT} at once: pids ${pids}`);
    if (done(pids)) return pids;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (pids ${pids})`);
    }
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
  }
}

/** The pid the agent's /api/status reports for the script, if it runs it. */
async function scriptPid(agent: AgentProcess): Promise<number | undefined> {
  const { scripts } = await agent.status();
  const s = scripts.find((s) => s.name === SCRIPT);
  return s?.state === "running" && s.pid ? s.pid : undefined;
}

Deno.test("two agent processes with the same site singleton: exactly one runs it; SIGKILL the holder and the other runs it, never both", async () => {
  const marker = `singleton-${crypto.randomUUID()}`;
  const script = fixtureScript(SCRIPT, "print_hang.ts", "1", marker) +
    `singleton = "site"\nstop_timeout = "500ms"\n\n`;
  try {
    await using fleet = await Fleet.start();
    const agents: AgentProcess[] = [];
    for (const host of ["l1", "l2"]) {
      const config = await fleet.agentConfig(SITE, host, script);
      // Fleet.agentConfig() writes the [collector] table; the lease ttl belongs in it.
      const text = await Deno.readTextFile(config);
      assert.ok(text.includes('timeout = "2s"\n'));
      await Deno.writeTextFile(
        config,
        text.replace('timeout = "2s"\n', 'timeout = "2s"\nlease_ttl = "3s"\n'),
      );
      agents.push(await fleet.startAgent(config));
    }

    // One copy comes up, then stays the only one for a few seconds (past a lease ttl).
    const [first] = await sampleUntil(marker, "one copy running", (p) => p.length === 1, 20_000);
    const steadyUntil = Date.now() + 4_000;
    await sampleUntil(marker, "4 s of one copy", (pids) => {
      assert.deepEqual(pids, [first], "exactly the same one copy while the holder lives");
      return Date.now() >= steadyUntil;
    }, 10_000);

    // Which agent holds it: the one whose status reports that pid.
    const pids = await Promise.all(agents.map(scriptPid));
    const holderIndex = pids.indexOf(first);
    assert.ok(holderIndex >= 0, `no agent reports pid ${first}: ${pids}`);
    assert.equal(pids.filter((p) => p !== undefined).length, 1, `agents report ${pids}`);
    const holder = agents[holderIndex];
    const other = agents[1 - holderIndex];

    holder.child.kill("SIGKILL");
    await holder.child.status;
    const killedAt = Date.now();

    // The script dies with its agent; the other agent takes the lease and runs it.
    const [second] = await sampleUntil(
      marker,
      "the other agent's copy",
      (p) => p.length === 1 && p[0] !== first,
      30_000,
    );
    const took = Date.now() - killedAt;
    assert.ok(took <= 30_000, `the other agent ran it ${took} ms after the kill`);
    assert.equal(await alive(first), false, "the killed agent's copy is gone");
    assert.equal(await scriptPid(other), second, "the surviving agent runs the new copy");

    // And it stays the only copy for a moment.
    const settledUntil = Date.now() + 1_000;
    await sampleUntil(marker, "1 s of the new copy", (p) => {
      assert.deepEqual(p, [second]);
      return Date.now() >= settledUntil;
    }, 5_000);
  } finally {
    // Anything left behind (the fleet's disposal stops the agents, and their scripts).
    for (const pid of await processesWith(marker)) await platform.killTree(pid).catch(() => {});
  }
});
